/**
 * `npm run simulate -- --url http://127.0.0.1:3000 --shoppers 500 --seed 7 --minutes-per-second 10`
 *
 * Drives a running Nudge with seeded synthetic shoppers through its public APIs only (events to
 * /v1/batch with the write key; the admin key only reads the capture mailbox), reacts to the mail
 * it sends, and prints the summary as JSON on stdout (progress on stderr). Nudge's journeys run in
 * real time: give their delays short flagged values that match the scale (at 10 simulated minutes
 * per second, the default, "15 min" is 1.5 s and "1 h" is 6 s).
 *
 * Options:
 *   --url URL                  Nudge (default $NUDGE_URL or http://127.0.0.1:3000)
 *   --write-key KEY            a source's write key (default $NUDGE_WRITE_KEY or wk_demo)
 *   --admin-key KEY            reads the capture mailbox (default $ADMIN_API_KEY or admin_demo_key)
 *   --scenario FILE            a scenario JSON file (every knob optional; see simulator/scenario.ts)
 *   --shoppers N, --seed N, --minutes-per-second N, --run-id ID   shortcuts for those knobs
 *   --set path=value           any knob, e.g. --set races.duplicateCart.rate=0.1 (value parsed as JSON when it can be)
 *   --out FILE                 also write the summary there
 *   --no-progress              no progress bar
 *   --schema                   print the scenario's JSON schema (every knob, its default and meaning) and exit
 *   --print-scenario           print the resolved scenario and exit
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { runSimulation } from '../demo/simulator/run.js'
import { parseScenario, scenarioSchema } from '../demo/simulator/scenario.js'

/** Sets `value` at a dotted path of a plain object, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.').filter(Boolean)
  if (!keys.length) throw new Error(`--set needs a path, got "${path}"`)
  let node = target
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null || Array.isArray(node[k])) node[k] = {}
    node = node[k] as Record<string, unknown>
  }
  node[keys[keys.length - 1]!] = value
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function scenarioFromArgs(argv: string[]): { scenario: Record<string, unknown>; values: Record<string, unknown> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'write-key': { type: 'string' },
      'admin-key': { type: 'string' },
      scenario: { type: 'string' },
      shoppers: { type: 'string' },
      seed: { type: 'string' },
      'minutes-per-second': { type: 'string' },
      'run-id': { type: 'string' },
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      'no-progress': { type: 'boolean' },
      schema: { type: 'boolean' },
      'print-scenario': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  const scenario: Record<string, unknown> = values.scenario
    ? (JSON.parse(readFileSync(values.scenario, 'utf8')) as Record<string, unknown>)
    : {}
  const number = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined
    const n = Number(text)
    if (!Number.isFinite(n)) throw new Error(`--${flag} must be a number, got "${text}"`)
    return n
  }
  const shoppers = number('shoppers', values.shoppers)
  const seed = number('seed', values.seed)
  const mps = number('minutes-per-second', values['minutes-per-second'])
  if (shoppers !== undefined) scenario.shoppers = shoppers
  if (seed !== undefined) scenario.seed = seed
  if (mps !== undefined) setPath(scenario, 'timeScale.minutesPerSecond', mps)
  if (values['run-id']) scenario.runId = values['run-id']
  for (const assignment of values.set ?? []) {
    const eq = assignment.indexOf('=')
    if (eq <= 0) throw new Error(`--set wants path=value, got "${assignment}"`)
    setPath(scenario, assignment.slice(0, eq), parseValue(assignment.slice(eq + 1)))
  }
  return { scenario, values }
}

async function main(): Promise<void> {
  const { scenario, values } = scenarioFromArgs(process.argv.slice(2))
  if (values.help) {
    const doc = readFileSync(new URL(import.meta.url), 'utf8').match(/\/\*\*([\s\S]*?)\*\//)?.[1] ?? ''
    process.stdout.write(`${doc.replace(/^ \* ?/gm, '').trim()}\n`)
    return
  }
  if (values.schema) {
    process.stdout.write(`${JSON.stringify(z.toJSONSchema(scenarioSchema, { io: 'input' }), null, 2)}\n`)
    return
  }
  const resolved = parseScenario(scenario)
  if (values['print-scenario']) {
    process.stdout.write(`${JSON.stringify(resolved, null, 2)}\n`)
    return
  }
  const abort = new AbortController()
  const stop = () => {
    if (abort.signal.aborted) process.exit(130)
    process.stderr.write('\nStopping (Ctrl-C again to quit at once)…\n')
    abort.abort()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const summary = await runSimulation({
    url: (values.url as string | undefined) ?? process.env.NUDGE_URL ?? 'http://127.0.0.1:3000',
    writeKey: (values['write-key'] as string | undefined) ?? process.env.NUDGE_WRITE_KEY ?? 'wk_demo',
    adminKey: (values['admin-key'] as string | undefined) ?? process.env.ADMIN_API_KEY ?? 'admin_demo_key',
    scenario: resolved,
    progress: !values['no-progress'],
    signal: abort.signal,
  })
  const text = JSON.stringify(summary, null, 2)
  if (values.out) writeFileSync(values.out as string, `${text}\n`)
  process.stdout.write(`${text}\n`)
  if (summary.errors.count > 0) process.exitCode = 1
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}

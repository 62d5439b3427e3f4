import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore, selectRows } from '../../clickhouse/store.js'
import { variantRanges } from '../../experiments/assign.js'
import { reminderContentExperiment, reminderTimingExperiment } from '../../experiments/examples.js'
import { bucketerOf } from '../../experiments/hash.js'
import { browseExperiment, exampleJourneys } from '../../journeys/examples.js'
import { demoPotentials, demoScenario, demoTruth } from '../../demo/demoScenario.js'
import { freePort } from '../../runtime/freePort.js'
import { planSimulation } from '../../demo/simulator/model.js'
import { parseScenario } from '../../demo/simulator/scenario.js'

/** Nudge's assignment, recomputed from the definitions (murmur3 buckets; full traffic, no global holdout). */
function variantOf(experiment: string, unit: string): string | null {
  const d = [reminderTimingExperiment, reminderContentExperiment, browseExperiment].find((e) => e.key === experiment)!
  const b = bucketerOf(experiment)(unit)
  const i = variantRanges(d.variants, 1).findIndex(([lo, hi]) => b >= lo && b < hi)
  return i < 0 ? null : d.variants[i]!.key
}

/** The demo's printed truths: experiment → metric → arm → the printed value (e.g. "66.8 %"). */
function printedTruths(out: string): Record<string, Record<string, Record<string, string>>> {
  const truths: Record<string, Record<string, Record<string, string>>> = {}
  let experiment: string | undefined
  for (const line of out.split('\n')) {
    const head = /^Experiment (\S+) — /.exec(line)
    if (head) experiment = head[1]
    const row = /^ {2}(\S+) +(\S+) .* truth (-?[\d.]+ %)/.exec(line)
    if (experiment && row) ((truths[experiment] ??= {})[row[1]!] ??= {})[row[2]!] = row[3]!
    if (!line.startsWith(' ') && !head) experiment = undefined
  }
  return truths
}

/** `npm run demo` as a newcomer runs it (small and fast here): DEMO_EXIT=1 makes it stop when done. */
function runDemo(env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/demo.ts'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-demo-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const ports = async () => ({
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
  })

  it('runs embedded Nudge and the simulator: every seed journey sends; each experiment next to its exact truth, latency, funnel, false triggers, the report', async () => {
    const data = join(dir, 'run')
    // The demo's own clock (6 simulated minutes a second): its arms stay apart and clicks come before organic purchases.
    const { code, out } = await runDemo(
      {
        ...(await ports()),
        DEMO_DATA_DIR: data,
        DEMO_EXIT: '1',
        DEMO_SHOPPERS: '40',
        DEMO_SEED: '3',
        DEMO_RUN_ID: 'ci1',
        LOG_LEVEL: 'warn',
      },
      300_000,
    )
    expect(code, out).toBe(0)
    expect(out).toContain('Nudge is running')
    expect(out).toMatch(/Simulation: \d+ events, \d+ reminders seen/)
    // Every comparison of both experiments, with the truth for these shoppers beside it.
    for (const [metric, arm] of [
      ['conversion', 'm15'],
      ['conversion', 'holdout'],
      ['revenue', 'm15'],
      ['revenue', 'urgency'],
      ['conversion', 'urgency'],
    ])
      expect(out).toMatch(new RegExp(`${metric} +${arm} .*\\[.*\\] +truth `))
    expect(out).toMatch(/conversion +urgency .*truth 0\.0 %/)
    expect(out).toContain('Experiment cart-reminder-timing')
    expect(out).toContain('Experiment cart-reminder-content')
    expect(out).toMatch(/conversion +proof .*\[.*\] +truth /)
    // A guardrail without events says so (nobody unsubscribes in the demo).
    expect(out).toMatch(/Unsubscribed +m15 +no events yet/)
    expect(out).not.toMatch(/Unsubscribed .*— \[—, —\]/)
    // Every seed journey sent at least one message within the run, as the printed funnel shows.
    const funnel = new Map(
      [...out.matchAll(/^ {2}([a-z-]+) +(\d+) → +(\d+) → +(\d+) → +(\d+) → +(\d+) +exited first \d+$/gm)].map((m) => [
        m[1]!,
        { entered: Number(m[2]), sent: Number(m[3]) },
      ]),
    )
    for (const j of exampleJourneys) expect(funnel.get(j.id)?.sent ?? 0, `${j.id} in ${out}`).toBeGreaterThan(0)
    expect(out).toMatch(/cart-abandonment +p50 \d+ · p90 \d+ · p99 \d+/)
    expect(out).toMatch(/False triggers: \d+ of \d+ sends/)
    const report = /Report: file:\/\/(\S+)/.exec(out)?.[1]
    expect(report && existsSync(report)).toBe(true)
    const html = readFileSync(report!, 'utf8')
    expect(html).toContain('cart-reminder-timing')
    expect(html).toContain('cart-reminder-content')
    expect(html).toContain('class="truth"')
    expect(out).toMatch(/Temporal UI .*: http:\/\/127\.0\.0\.1:\d+/)
    // Grafana: provisioning and dashboards for this run, and its data exported for a server.
    expect(out).toMatch(/Grafana provisioning for this run: .*provisioning/)
    expect(existsSync(join(data, 'grafana', 'provisioning', 'alerting', 'nudge.yaml'))).toBe(true)
    expect(existsSync(join(data, 'grafana', 'dashboards', 'nudge-trigger-latency.json'))).toBe(true)
    expect(readFileSync(join(data, 'grafana', 'load-into-clickhouse.sh'), 'utf8')).toContain(
      'INSERT%20INTO%20journey_runs%20FORMAT%20Native',
    )
    expect(statSync(join(data, 'grafana', 'data', 'journey_runs.native')).size).toBeGreaterThan(0)

    // The truth printed is what these shoppers really do: each exposed user's conversion and
    // revenue in the store are their potential outcome for the arms they got, each experiment
    // exposed exactly the users its truth averages over, and each printed truth is that average.
    const store = await openStore({ dataDir: join(data, 'clickhouse') })
    try {
      const exposures = await selectRows<{ experiment_key: string; unit: string; variant: string; at: number }>(
        store.client,
        'SELECT experiment_key, unit, variant, toUnixTimestamp64Milli(first_at) AS at FROM experiment_exposures FINAL',
      )
      for (const e of exposures) expect(variantOf(e.experiment_key, e.unit), `${e.experiment_key} ${e.unit}`).toBe(e.variant)
      const orders = await selectRows<{ user_key: string; revenue: number; at: number }>(
        store.client,
        "SELECT user_key, JSONExtractFloat(properties, 'revenue') AS revenue, toUnixTimestamp64Milli(timestamp) AS at FROM events WHERE event = 'Order Completed'",
      )
      const revenueOf = (unit: string, after = 0) => {
        const mine = orders.filter((o) => o.user_key === unit && o.at >= after)
        return [mine.length ? 1 : 0, Math.round(mine.reduce((a, o) => a + Number(o.revenue), 0) * 100) / 100]
      }
      const of = (key: string) => exposures.filter((e) => e.experiment_key === key)
      const timing = of(reminderTimingExperiment.key)
      const runId = /^sim-(.+)-\d+$/.exec(timing[0]!.unit)![1]!
      const scenario = parseScenario(demoScenario({ seed: 3, shoppers: 40, minutesPerSecond: 6, testIds: [] }))
      const plan = planSimulation(scenario, runId)
      const users = demoPotentials(scenario, plan, variantOf)
      const potential = new Map(users.map((u) => [u.userId, u]))
      const armOf = (v: string | null) => (v === 'holdout' || v === null ? undefined : v)
      const multiplierOf = (unit: string) => (variantOf(reminderContentExperiment.key, unit) === 'urgency' ? 2 : 1)
      const realized = timing.map((e) => {
        const p = potential.get(e.unit)!
        return {
          arm: e.variant,
          got: revenueOf(e.unit),
          want: [p.conversion(armOf(e.variant)), Math.round(p.revenue(armOf(e.variant), multiplierOf(e.unit)) * 100) / 100],
        }
      })
      expect(realized.length).toBeGreaterThan(20)
      expect(new Set(realized.map((r) => r.arm))).toEqual(new Set(['h1', 'm15', 'holdout']))
      for (const r of realized) expect(r.got, r.arm).toEqual(r.want)
      const units = (key: string) =>
        of(key)
          .map((e) => e.unit)
          .sort()
      expect(units(reminderTimingExperiment.key)).toEqual(
        users
          .filter((u) => u.exposed)
          .map((u) => u.userId)
          .sort(),
      )
      expect(units(reminderContentExperiment.key)).toEqual(
        users
          .filter((u) => u.reminded && armOf(variantOf(reminderTimingExperiment.key, u.userId)) !== undefined)
          .map((u) => u.userId)
          .sort(),
      )
      // Browse: the viewers who had bought nothing when its delay was up; after exposure, only the browse mail sells.
      const browse = of(browseExperiment.key)
      expect(browse.length).toBeGreaterThan(5)
      expect(units(browseExperiment.key)).toEqual(
        users
          .filter((u) => u.browseExposed(armOf(variantOf(reminderTimingExperiment.key, u.userId))))
          .map((u) => u.userId)
          .sort(),
      )
      for (const e of browse) {
        const m = potential.get(e.unit)!.mail(e.variant)
        expect(revenueOf(e.unit, e.at), `${e.unit} ${e.variant}`).toEqual([m.bought ? 1 : 0, m.revenue])
      }
      // Each printed truth is the potential-outcome truth, to the printed digit; none is missing.
      const truth = demoTruth(scenario, plan, variantOf)
      const printed = printedTruths(out)
      const fmt = (v: number) => `${(v * 100).toFixed(1)} %`
      // (A truth without a finite value — no control purchase among few shoppers — prints as "—".)
      const want: Record<string, Record<string, Record<string, string>>> = {}
      for (const [e, ms] of Object.entries(truth))
        for (const [m, arms] of Object.entries(ms))
          for (const [a, v] of Object.entries(arms)) if (Number.isFinite(v)) ((want[e] ??= {})[m] ??= {})[a] = fmt(v)
      expect(Object.keys(want[reminderTimingExperiment.key]!.conversion!)).toEqual(['m15', 'holdout'])
      expect(printed).toEqual(want)
    } finally {
      await store.close()
    }
  }, 300_000)

  it('refuses to start over a running instance’s files or a directory that is not a demo’s: the data stays', async () => {
    const data = join(dir, 'busy')
    mkdirSync(data, { recursive: true })
    writeFileSync(join(data, 'marker'), 'still here')
    const p = await ports()
    const busy = createServer().listen(Number(p.PORT), '127.0.0.1')
    try {
      const { code, out } = await runDemo({ ...p, DEMO_DATA_DIR: data, DEMO_EXIT: '1' }, 60_000)
      expect(code).toBe(1)
      expect(out).toContain(`Port ${p.PORT} is in use`)
      expect(readFileSync(join(data, 'marker'), 'utf8')).toBe('still here')
    } finally {
      busy.close()
    }
    // Nor does it empty a directory that is not a demo's (DEMO_DATA_DIR=.data by mistake).
    const { code, out } = await runDemo({ ...(await ports()), DEMO_DATA_DIR: data, DEMO_EXIT: '1' }, 60_000)
    expect(code).toBe(1)
    expect(out).toContain("is not a demo's data directory")
    expect(readFileSync(join(data, 'marker'), 'utf8')).toBe('still here')
  }, 90_000)
})

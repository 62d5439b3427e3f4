/**
 * `npm run bench:startup`: how long `npm start` takes to be healthy with a store that is not
 * empty (issue #16: < 5 s after the first run, with 1M stored events).
 *
 * The first run creates DATA_DIR (keys, migrations, the Temporal dev server's file) and stores
 * BENCH_STARTUP_EVENTS events (default 1,000,000) through /v1/batch — the store then holds what
 * real traffic leaves (events, message ids, identities, traits). Then BENCH_STARTUP_RUNS restarts
 * (default 5), each timed from spawn to the first /healthz 200; prints min/median/max and, per
 * start-up step the process logs, its median — the step that takes the time.
 * BENCH_STARTUP_DIR=dir keeps (and reuses) the seeded directory between invocations.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, selectRows } from '../clickhouse/store.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { makeBatchTemplate, stamp } from './bench/payloads.js'
import { check, fmt, greatest, least, middle } from './bench/report.js'
import { postBatch, startChild, startupSteps } from './benchChild.js'

const EVENTS = Number(process.env.BENCH_STARTUP_EVENTS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5)
const TARGET_MS = 5_000
const CLIENTS = 8

async function storedEvents(dataDir: string): Promise<number> {
  const store = await openStore({ dataDir: join(dataDir, 'clickhouse') })
  try {
    const [row] = await selectRows<{ n: number | string }>(store.client, 'SELECT count() AS n FROM events').catch(() => [{ n: 0 }])
    return Number(row?.n ?? 0)
  } finally {
    await store.close()
  }
}

/** The first run: stores events through the API until the store holds EVENTS. */
async function seed(dataDir: string, have: number): Promise<void> {
  const first = await startChild(dataDir)
  console.log(`first run       healthy after ${fmt(first.healthyMs)} ms (creates keys, migrates, starts Temporal's file)`)
  const templates = Array.from({ length: 64 }, (_, i) => makeBatchTemplate(i))
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  const target = new URL(first.url)
  let next = Math.floor(Date.now() / 1000) * 1000 // unique request numbers across invocations
  let acked = have
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (acked < EVENTS) {
        const n = next++
        const status = await postBatch(agent, target, stamp(templates[n % templates.length]!, n))
        if (status === 200) acked += 100
        else await new Promise((r) => setTimeout(r, 100))
      }
    }),
  )
  const s = (performance.now() - started) / 1000
  console.log(`seeded          ${fmt(acked - have)} events through /v1/batch in ${fmt(s, 1)} s (${fmt((acked - have) / s)} events/s)`)
  agent.destroy()
  await first.stop()
}

async function main(): Promise<void> {
  await ensureTemporalCli(() => {})
  const keep = process.env.BENCH_STARTUP_DIR
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), 'nudge-bench-startup-'))
  mkdirSync(dataDir, { recursive: true })
  try {
    const have = await storedEvents(dataDir)
    // The first run happens here whatever is asked for (an empty store too): the timed runs are restarts.
    if (have < EVENTS || !existsSync(join(dataDir, 'temporal'))) await seed(dataDir, have)
    const stored = await storedEvents(dataDir)
    console.log(`store           ${fmt(stored)} events in ${dataDir}`)
    const healthy: number[] = []
    const steps = new Map<string, number[]>()
    for (let run = 1; run <= RUNS; run++) {
      const child = await startChild(dataDir)
      healthy.push(child.healthyMs)
      // Background loads (recommendations, live segment facts) go on after healthy: let them finish before stopping.
      await new Promise((r) => setTimeout(r, 2_000))
      for (const s of startupSteps(child.log)) steps.set(s.step, [...(steps.get(s.step) ?? []), s.ms])
      const code = await child.stop()
      console.log(`run ${run}           healthy after ${fmt(child.healthyMs)} ms (exit ${code})`)
    }
    console.log(`start-up steps  (median of ${RUNS} runs, in the order logged)`)
    for (const [step, ms] of steps) console.log(`                ${step.padEnd(36)} ${fmt(middle(ms)).padStart(7)} ms`)
    const median = middle(healthy)
    console.log(
      `start-up with ${fmt(stored)} stored events: spawn → /healthz 200 min ${fmt(least(healthy))} ms, median ${fmt(median)} ms, max ${fmt(greatest(healthy))} ms (target median < ${TARGET_MS / 1000} s: ${check(median < TARGET_MS)})`,
    )
  } finally {
    if (!keep) rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

/**
 * `npm run bench:triggers` — journeys under sustained triggering, on the Temporal dev server exactly
 * as `npm start` runs it (SQLite file under a temporary DATA_DIR, same flags: embeddedDevServer.ts)
 * and the embedded engine (Nudge in this process, role `all`; traffic over HTTP on loopback).
 *
 * 1. A rate sweep (BENCH_RATES, default 25,50,75,100,150 per s; BENCH_SECONDS, default 8, at each):
 *    at each rate the floor — empty workflows started the way Nudge starts runs (eagerly on this
 *    process's worker), no Nudge code — then Nudge — one `track` per trigger over HTTP, the journey
 *    run started by the router. Both measure trigger issued → run accepted by Temporal. Each side
 *    stops rising after two rates in a row with p99 ≥ 250 ms; printed: each side's highest rate with p99 <
 *    250 ms and Nudge's as a share of the floor's (target ≥ 80 %).
 * 2. Immediate sends at BENCH_SEND_RATE (default half the floor's rate) → event received → message
 *    handed to the SMTP transport and recorded `sent`. Target p99 < 1 s.
 * 3. Delayed steps at BENCH_DELAY_RATE (default the send rate) of a 2 s delay → how late the step
 *    fired after its scheduled time. Target p99 < 1 s.
 * 4. A burst: BENCH_BURST (default 500) reminders due at one instant → handed to SMTP; target p99 < 2 s
 *    (bench-triggers-burst.ts).
 * Every run's outcome is then checked: each started once, each due message sent once.
 * BENCH_PARTS (default sweep,sends,burst) picks the parts to run (sends without the sweep: BENCH_SEND_RATE or 25/s).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { selectRows } from '../clickhouse/store.js'
import { loadConfig } from '../runtime/config.js'
import { embeddedDevServerOptions } from '../runtime/temporal/embeddedDevServer.js'
import { freePort } from '../runtime/freePort.js'
import { createLogger } from '../core/log.js'
import { startNudge } from '../runtime/nudge.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { startDevServer } from '../runtime/temporal/temporalDevServer.js'
import { check, fmt, greatest, percentile } from './bench/report.js'
import { burstRow } from './bench-triggers-burst.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const PARTS = new Set((process.env.BENCH_PARTS ?? 'sweep,sends,burst').split(','))
const RATES = PARTS.has('sweep') ? (process.env.BENCH_RATES ?? '25,50,75,100,150').split(',').map(Number) : []
const P99_TARGET = 250
const WRITE_KEY = 'wk_bench_key'
const ADMIN = 'admin_bench_key'

const dir = mkdtempSync(join(tmpdir(), 'nudge-bench-triggers-'))
const cli = await ensureTemporalCli()
const config = loadConfig({
  DATA_DIR: dir,
  TEMPORAL_PORT: String(await freePort()),
  TEMPORAL_UI_PORT: String(await freePort()),
  WRITE_KEYS: `bench:${WRITE_KEY}`,
  ADMIN_API_KEY: ADMIN,
  NUDGE_ENCRYPTION_KEY: 'b'.repeat(64),
  HOST: '127.0.0.1',
  FREQUENCY_CAP: '',
  QUIET_HOURS: '',
  LOG_LEVEL: 'error',
  SEGMENT_SWEEP_INTERVAL_MS: '0',
  // Any other Nudge setting can be tried from the environment (e.g. INGEST_LINGER_MS).
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(INGEST_|SEGMENT_|FREQUENCY_|TEMPORAL_EAGER)/.test(k))),
})
// The server `npm start` runs, on its file in this DATA_DIR.
// BENCH_SQLITE=default: SQLite's own journal and sync (no WAL), to compare.
const sqliteDefaults = process.env.BENCH_SQLITE === 'default'
const server = await startDevServer(
  embeddedDevServerOptions(config, cli, { readyTimeoutMs: 90_000, ...(sqliteDefaults ? { sqlitePragmas: {} } : {}) }),
)
const nudge = await startNudge({ config, role: 'all', temporalAddress: server.address, log: createLogger('error'), port: 0 })
const base = nudge.url!
// Event received → the run accepted by Temporal (durably started: it will run whatever happens
// next), per trigger: the router's start call returns after that.
const accepted = new Map<string, number>()
// …and how much of that the router's part was: start handed to the router → accepted (its queue
// and Temporal's start call); the rest is HTTP, ingest and the insert before routing.
const routerMs = new Map<string, number>()
const triggerAt = new Map<string, number>()
nudge.journeys.router!.observe((kind, ms, userKey) => {
  if (kind === 'start' && userKey && triggerAt.has(userKey)) {
    accepted.set(userKey, Date.now())
    routerMs.set(userKey, ms)
  }
})
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`

async function call(path: string, body: unknown, headers: Record<string, string> = { authorization: auth }): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  await res.arrayBuffer()
  return res.status
}

async function journey(id: string, event: string, steps: unknown[]) {
  const h = { authorization: `Bearer ${ADMIN}` }
  if ((await call('/api/journeys', { id, name: id, trigger: { type: 'event', event }, steps }, h)) !== 201)
    throw new Error(`journey ${id} not created`)
  if ((await call(`/api/journeys/${id}/activate`, {}, h)) !== 200) throw new Error(`journey ${id} not activated`)
}

/** Posts `rate` triggers per second for SECONDS, one user each; returns the user ids. */
async function drive(prefix: string, event: string, rate: number, profiles = true): Promise<string[]> {
  const users: string[] = []
  const total = rate * SECONDS
  // Profiles (with an email) first, in batches, so sends have a recipient.
  for (let i = 0; profiles && i < total; i += 100) {
    const batch = Array.from({ length: Math.min(100, total - i) }, (_, k) => ({
      type: 'identify',
      userId: `${prefix}-${i + k}`,
      traits: { email: `${prefix}-${i + k}@bench.example` },
    }))
    if ((await call('/v1/batch', { batch })) !== 200) throw new Error('identify batch refused')
  }
  const t0 = Date.now()
  const inflight: Promise<number>[] = []
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate
    const wait = due - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const userId = `${prefix}-${i}`
    users.push(userId)
    triggerAt.set(userId, Date.now())
    inflight.push(call('/v1/track', { userId, event, properties: { n: i } }))
  }
  const statuses = await Promise.all(inflight)
  const refused = statuses.filter((s) => s !== 200).length
  if (refused) console.log(`  ${refused} triggers refused`)
  return users
}

async function settle(what: string, count: () => Promise<number>, want: number, ms = 120_000) {
  const end = Date.now() + ms
  for (;;) {
    const n = await count()
    if (n >= want) return
    if (Date.now() > end) throw new Error(`${what}: ${n} of ${want} after ${ms / 1000} s`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const q = <T>(sql: string, params: Record<string, unknown> = {}) => selectRows<T>(nudge.store.client, sql, params)
/** A latency row; `target` makes it a target row (BENCHMARKS.md), `bound` only marks it under or over. */
const row = (label: string, values: number[], target: number, bound = Infinity) =>
  console.log(
    `${label.padEnd(50)} p50 ${fmt(percentile(values, 0.5))} ms · p99 ${fmt(percentile(values, 0.99))} ms · max ${fmt(greatest(values))} ms` +
      (Number.isFinite(target) ? `   (target p99 < ${fmt(target)} ms: ${check(percentile(values, 0.99) < target)})` : '') +
      (Number.isFinite(bound) ? `   [p99 ${percentile(values, 0.99) < bound ? '<' : '≥'} ${fmt(bound)} ms]` : ''),
  )

type Side = { rate: number; ms: number[] }
const p99 = (v: number[]) => percentile(v, 0.99)
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The floor at `rate`: empty workflows, started as the router starts runs; issued → accepted. */
async function floorAt(rate: number): Promise<number[]> {
  const starter = nudge.eagerTemporal ?? nudge.temporal
  const n = rate * SECONDS
  const ms: number[] = []
  const t0 = Date.now()
  const runs: Promise<void>[] = []
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - Date.now()
    if (wait > 0) await pause(wait)
    const s0 = Date.now()
    const opts = {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: `noop-${rate}-${i}`,
      ...(nudge.eagerTemporal ? { requestEagerStart: true } : {}),
    }
    runs.push(starter.workflow.start('noopWorkflow', opts).then(() => void ms.push(Date.now() - s0)))
  }
  await Promise.all(runs)
  if (ms.length !== n) throw new Error(`floor ${rate}/s: ${ms.length} of ${n} accepted`)
  return ms
}

/** An empty workflow whose first task the server schedules at `due`; resolves when it has completed. */
async function emptyDueAt(due: number, i: number): Promise<void> {
  const opts = { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: `noop-burst-${due}-${i}`, startDelay: Math.max(1, due - Date.now()) }
  await (await nudge.temporal.workflow.start('noopWorkflow', opts)).result()
}

/** Nudge at `rate`: one `track` per trigger; trigger posted → its run accepted by Temporal. */
async function nudgeAt(rate: number): Promise<{ ms: number[]; started: number[]; router: number[] }> {
  const users = await drive(`s${rate}`, 'Bench Start', rate, false)
  const mine = `journey_id = 'bench-start' AND phase = 'started' AND startsWith(user_key, {prefix:String})`
  const prefix = `s${rate}-`
  await settle(
    `runs started at ${rate}/s`,
    async () => Number((await q<{ n: string }>(`SELECT count() AS n FROM journey_runs WHERE ${mine}`, { prefix }))[0]!.n),
    users.length,
  )
  const missing = users.filter((u) => !accepted.has(u)).length
  if (missing) throw new Error(`${missing} of ${users.length} triggers at ${rate}/s: no start seen by the router`)
  // Also the run's own record: event received (ingest) → Temporal's start time of the run.
  const started = await q<{ ms: number }>(
    `SELECT toUnixTimestamp64Milli(at) - toUnixTimestamp64Milli(received_at) AS ms FROM journey_runs WHERE ${mine}`,
    { prefix },
  )
  return {
    ms: users.map((u) => accepted.get(u)! - triggerAt.get(u)!),
    started: started.map((r) => Number(r.ms)),
    router: users.map((u) => routerMs.get(u)!),
  }
}

/** Immediate sends and delays at half the floor's rate (the issue's target rate for them); the sends' correctness line. */
async function sendsAndDelays(floorBest: number): Promise<string> {
  // Sends and delays at half the floor's rate (the issue's target rate for them).
  const SEND_RATE = Number(process.env.BENCH_SEND_RATE ?? Math.max(5, Math.round((floorBest || 50) / 2)))
  const DELAY_RATE = Number(process.env.BENCH_DELAY_RATE ?? SEND_RATE)
  const sent = await drive('i', 'Bench Send', SEND_RATE)
  await settle(
    'immediate sends',
    async () =>
      Number(
        (
          await q<{ n: string }>("SELECT uniqExact(message_id) AS n FROM send_ledger WHERE journey_id = 'bench-send' AND status = 'sent'")
        )[0]!.n,
      ),
    sent.length,
  )
  const sends = await q<{ ms: number }>(
    `SELECT toUnixTimestamp64Milli(l.at) - toUnixTimestamp64Milli(r.received_at) AS ms
     FROM (SELECT workflow_id, min(at) AS at FROM send_ledger WHERE journey_id = 'bench-send' AND status = 'sent' GROUP BY workflow_id) AS l
     INNER JOIN (SELECT workflow_id, min(received_at) AS received_at FROM journey_runs WHERE journey_id = 'bench-send' AND phase = 'started' GROUP BY workflow_id) AS r USING workflow_id`,
  )
  // Where a send's time goes: until the run began, the pre-send check, the hand-over.
  const phases = await q<{ begin: number; check: number; hand: number }>(
    `SELECT toUnixTimestamp64Milli(r.started) - toUnixTimestamp64Milli(r.received_at) AS begin,
            toUnixTimestamp64Milli(l.sending) - toUnixTimestamp64Milli(r.started) AS check,
            toUnixTimestamp64Milli(l.sent) - toUnixTimestamp64Milli(l.sending) AS hand
     FROM (SELECT workflow_id, minIf(at, status = 'sending') AS sending, minIf(at, status = 'sent') AS sent FROM send_ledger WHERE journey_id = 'bench-send' GROUP BY workflow_id) AS l
     INNER JOIN (SELECT workflow_id, minIf(at, phase = 'started') AS started, min(received_at) AS received_at FROM journey_runs WHERE journey_id = 'bench-send' GROUP BY workflow_id) AS r USING workflow_id`,
  )

  const delayed = await drive('d', 'Bench Delay', DELAY_RATE)
  await settle(
    'delayed steps',
    async () =>
      Number(
        (await q<{ n: string }>("SELECT count() AS n FROM journey_steps WHERE journey_id = 'bench-delay' AND step_id = 'wait'"))[0]!.n,
      ),
    delayed.length,
  )
  const late = await q<{ ms: number }>(
    "SELECT toUnixTimestamp64Milli(at) - toUnixTimestamp64Milli(scheduled_at) AS ms FROM journey_steps WHERE journey_id = 'bench-delay' AND step_id = 'wait'",
  )

  console.log('')
  row(
    `event → immediate send (${SEND_RATE}/s, ${sends.length} sends)`,
    sends.map((r) => Number(r.ms)),
    1000,
  )
  for (const k of ['begin', 'check', 'hand'] as const)
    row(
      `  send: ${{ begin: 'event → run began', check: 'run began → checked (gate)', hand: 'checked → handed to SMTP' }[k]}`,
      phases.map((p) => Number(p[k])),
      Infinity,
    )
  row(
    `delayed step lateness (${DELAY_RATE}/s, ${late.length} steps)`,
    late.map((r) => Number(r.ms)),
    1000,
  )
  const captured = Number(
    (await q<{ n: string }>("SELECT uniqExact(message_id) AS n FROM mailbox WHERE arrayElement(rcpt_to, 1) LIKE 'i-%'"))[0]!.n,
  )
  return `; ${sent.length} sends due, ${captured} distinct messages captured`
}

try {
  console.log(
    `journey trigger benchmark: ${SECONDS} s per rate, rates ${RATES.join(', ')}/s, Node ${process.version}, Temporal dev server as \`npm start\` runs it (SQLite file, ${sqliteDefaults ? 'SQLite defaults' : 'WAL'}), embedded engine; load average ${load()}`,
  )
  await journey('bench-start', 'Bench Start', [
    { id: 'hold', type: 'delay', duration: '1h' },
    { id: 'send', type: 'send', template: 'related-products' },
  ])
  await journey('bench-send', 'Bench Send', [{ id: 'send', type: 'send', template: 'related-products' }])
  await journey('bench-delay', 'Bench Delay', [
    { id: 'wait', type: 'delay', duration: '2s' },
    { id: 'done', type: 'exit' },
  ])

  // The sweep, the floor and Nudge side by side at each rate, so both see the same machine.
  const floor: Side[] = []
  const ours: Side[] = []
  // A side stops rising after two misses in a row (one can be the machine's noise).
  let floorMisses = 0
  let oursMisses = 0
  for (const rate of RATES) {
    if (floorMisses < 2) {
      const ms = await floorAt(rate)
      floor.push({ rate, ms })
      floorMisses = p99(ms) < P99_TARGET ? 0 : floorMisses + 1
      row(`floor: empty workflow, issued → accepted (${rate}/s)`, ms, Infinity, P99_TARGET)
      await pause(2000)
    }
    if (oursMisses < 2) {
      const { ms, started, router } = await nudgeAt(rate)
      ours.push({ rate, ms })
      oursMisses = p99(ms) < P99_TARGET ? 0 : oursMisses + 1
      row(`Nudge: event posted → run accepted (${rate}/s)`, ms, Infinity, P99_TARGET)
      row(`  … event received → run's start time (${rate}/s)`, started, Infinity)
      row(`  … of which the router: start handed over → accepted`, router, Infinity)
      await pause(2000)
    }
    if (floorMisses >= 2 && oursMisses >= 2) break
  }
  const best = (sides: Side[]) => Math.max(0, ...sides.filter((s) => p99(s.ms) < P99_TARGET).map((s) => s.rate))
  const floorBest = best(floor)
  const oursBest = best(ours)
  const ratio = floorBest ? oursBest / floorBest : NaN
  const dupStarts = Number(
    (
      await q<{ n: string }>(
        "SELECT count() - uniqExact(workflow_id) AS n FROM journey_runs WHERE journey_id = 'bench-start' AND phase = 'started'",
      )
    )[0]!.n,
  )

  const sendsDue = PARTS.has('sends') ? await sendsAndDelays(floorBest) : ''
  if (PARTS.has('burst')) await burstRow({ client: nudge.store.client, call, journey, emptyDueAt })
  if (PARTS.has('sweep')) {
    console.log('')
    console.log(`floor: highest rate with issued → accepted p99 < ${P99_TARGET} ms: ${floorBest}/s`)
    console.log(`Nudge: highest rate with event → run accepted p99 < ${P99_TARGET} ms: ${oursBest}/s`)
    console.log(
      `Nudge's highest rate with event → run accepted p99 < ${P99_TARGET} ms: ${oursBest}/s of the floor's ${floorBest}/s = ${Number.isFinite(ratio) ? fmt(ratio * 100) : '—'} %   (target ≥ 80 % of the floor: ${check(ratio >= 0.8)})`,
    )
    console.log(
      `correctness: ${ours.reduce((a, s) => a + s.ms.length, 0)} triggers, each run started (${dupStarts} started twice)${sendsDue}`,
    )
  }
  const mem = process.memoryUsage()
  console.log(`memory: RSS ${fmt(mem.rss / 1e6)} MB, heap ${fmt(mem.heapUsed / 1e6)} MB; load average ${load()}`)
} finally {
  await nudge.stop()
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
}

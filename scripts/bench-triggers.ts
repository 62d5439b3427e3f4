/**
 * `npm run bench:triggers` — journeys under sustained triggering, on the real Temporal dev server
 * and the embedded engine (Nudge in this process, role `all`; traffic over HTTP on loopback).
 *
 * 0. The floor: empty workflows at the same rates, no Nudge code — what the dev server and the
 *    TypeScript worker alone manage on this machine.
 * 1. Starts: BENCH_START_RATE (200) triggers/s for BENCH_SECONDS (15) → event received → run
 *    started (Temporal's start time of the run, which the run records). Target p99 < 250 ms.
 * 2. Immediate sends: BENCH_SEND_RATE (100) triggers/s → event received → message handed to the
 *    SMTP transport and recorded `sent`. Target p99 < 1 s.
 * 3. Delayed steps: BENCH_DELAY_RATE (100) triggers/s of a 2 s delay → how late the step fired
 *    after its scheduled time. Target p99 < 1 s.
 * Every run's outcome is then checked: each started once, each due message sent once.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selectRows } from '../analytics/store.js'
import { loadConfig } from '../runtime/config.js'
import { freePort } from '../runtime/freePort.js'
import { createLogger } from '../runtime/log.js'
import { startNudge } from '../runtime/nudge.js'
import { runId } from '../workflows/journeyRuns.js'
import { ensureTemporalCli } from '../runtime/temporalCli.js'
import { startDevServer } from '../runtime/temporalDevServer.js'
import { check, fmt, percentile } from './bench/report.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const START_RATE = Number(process.env.BENCH_START_RATE ?? 200)
const SEND_RATE = Number(process.env.BENCH_SEND_RATE ?? 100)
const DELAY_RATE = Number(process.env.BENCH_DELAY_RATE ?? 100)
const WRITE_KEY = 'wk_bench_key'
const ADMIN = 'admin_bench_key'

const dir = mkdtempSync(join(tmpdir(), 'nudge-bench-triggers-'))
const cli = await ensureTemporalCli()
const server = await startDevServer({ cliPath: cli, port: await freePort(), readyTimeoutMs: 90_000 })
const config = loadConfig({
  DATA_DIR: dir,
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
const nudge = await startNudge({ config, role: 'all', temporalAddress: server.address, log: createLogger('error'), port: 0 })
const base = nudge.url!
// Event received → the run accepted by Temporal (durably started: it will run whatever happens
// next), per trigger: the router's start call returns after that.
const accepted = new Map<string, number>()
const triggerAt = new Map<string, number>()
nudge.journeys.router!.observe((kind, _ms, userKey) => {
  if (kind === 'start' && userKey?.startsWith('s-')) accepted.set(userKey, Date.now())
})
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`

async function call(path: string, body: unknown, headers: Record<string, string> = { authorization: auth }): Promise<number> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  return res.status
}

async function journey(id: string, event: string, steps: unknown[]) {
  const h = { authorization: `Bearer ${ADMIN}` }
  if ((await call('/api/journeys', { id, name: id, trigger: { type: 'event', event }, steps }, h)) !== 201) throw new Error(`journey ${id} not created`)
  if ((await call(`/api/journeys/${id}/activate`, {}, h)) !== 200) throw new Error(`journey ${id} not activated`)
}

/** Posts `rate` triggers per second for SECONDS, one user each; returns the user ids. */
async function drive(prefix: string, event: string, rate: number): Promise<string[]> {
  const users: string[] = []
  const total = rate * SECONDS
  // Profiles (with an email) first, in batches, so sends have a recipient.
  for (let i = 0; i < total; i += 100) {
    const batch = Array.from({ length: Math.min(100, total - i) }, (_, k) => ({ type: 'identify', userId: `${prefix}-${i + k}`, traits: { email: `${prefix}-${i + k}@bench.example` } }))
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

const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6)
/** Start → first workflow task completed, for up to 200 of these runs (from their histories). */
async function firstTaskTimes(ids: string[]): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < ids.length; i += Math.max(1, Math.floor(ids.length / 200))) {
    const h = await nudge.temporal.workflow.getHandle(ids[i]!).fetchHistory()
    const done = h.events?.find((e) => String(e.eventType) === '7' || String(e.eventType) === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')
    if (done) out.push(eventMs(done.eventTime) - eventMs(h.events![0]!.eventTime))
  }
  return out
}

const q = <T>(sql: string, params: Record<string, unknown> = {}) => selectRows<T>(nudge.store.client, sql, params)
const row = (label: string, values: number[], target: number) =>
  console.log(
    `${label.padEnd(50)} p50 ${fmt(percentile(values, 0.5))} ms · p99 ${fmt(percentile(values, 0.99))} ms · max ${fmt(Math.max(...values))} ms` +
      (Number.isFinite(target) ? `   (target p99 < ${fmt(target)} ms: ${check(percentile(values, 0.99) < target)})` : ''),
  )

try {
  console.log(`journey trigger benchmark: ${SECONDS} s per phase, Node ${process.version}, Temporal dev server (in memory), embedded engine`)
  await journey('bench-start', 'Bench Start', [{ id: 'hold', type: 'delay', duration: '1h' }, { id: 'send', type: 'send', template: 'related-products' }])
  await journey('bench-send', 'Bench Send', [{ id: 'send', type: 'send', template: 'related-products' }])
  await journey('bench-delay', 'Bench Delay', [{ id: 'wait', type: 'delay', duration: '2s' }, { id: 'done', type: 'exit' }])

  // The floor: empty workflows started the way Nudge starts runs (eagerly on this worker when it
  // can), at the start and the send rate, with no Nudge code and no ingest — how long after its
  // start each one's first workflow task was done (from the histories of a sample). What Temporal
  // and the TypeScript worker alone cost on this machine.
  const floors: { rate: number; accepted: number[]; firstTask: number[] }[] = []
  for (const rate of [...new Set([START_RATE, SEND_RATE])]) {
    const starter = nudge.eagerTemporal ?? nudge.temporal
    const n = rate * Math.min(SECONDS, 8)
    const accepted: number[] = []
    const t0 = Date.now()
    const runs: Promise<void>[] = []
    for (let i = 0; i < n; i++) {
      const wait = t0 + (i * 1000) / rate - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const s0 = Date.now()
      const opts = { taskQueue: config.TEMPORAL_TASK_QUEUE, workflowId: `noop-${rate}-${i}`, ...(nudge.eagerTemporal ? { requestEagerStart: true } : {}) }
      runs.push(starter.workflow.start('noopWorkflow', opts).then(() => void accepted.push(Date.now() - s0)))
    }
    await Promise.all(runs)
    await new Promise((r) => setTimeout(r, 3000))
    floors.push({ rate, accepted, firstTask: await firstTaskTimes(Array.from({ length: n }, (_, i) => `noop-${rate}-${i}`)) })
    await new Promise((r) => setTimeout(r, 2000))
  }

  // What ingest alone costs this process at the start rate (events no journey listens to), one
  // event per request as the triggers below are sent: the share of the 2 cores left for journeys.
  const c0 = process.cpuUsage()
  const w0 = Date.now()
  await drive('x', 'Bench Nothing', START_RATE)
  const ingestCores = ((c => (c.user + c.system) / 1000)(process.cpuUsage(c0)) / (Date.now() - w0))

  const c1 = process.cpuUsage()
  const w1 = Date.now()
  const started = await drive('s', 'Bench Start', START_RATE)
  await settle('runs started', async () => Number((await q<{ n: string }>("SELECT count() AS n FROM journey_runs WHERE journey_id = 'bench-start' AND phase = 'started'"))[0]!.n), started.length)
  const startCores = ((c => (c.user + c.system) / 1000)(process.cpuUsage(c1)) / (Date.now() - w1))
  const starts = await q<{ ms: number }>("SELECT toUnixTimestamp64Milli(at) - toUnixTimestamp64Milli(received_at) AS ms FROM journey_runs WHERE journey_id = 'bench-start' AND phase = 'started'")
  // How long after its start each run's first workflow task was done (a sample, as for the floor).
  const startFirstTask = await firstTaskTimes(started.map((u) => runId('bench-start', u)))
  const dupStarts = Number((await q<{ n: string }>("SELECT count() - uniqExact(workflow_id) AS n FROM journey_runs WHERE journey_id = 'bench-start' AND phase = 'started'"))[0]!.n)

  const sent = await drive('i', 'Bench Send', SEND_RATE)
  await settle('immediate sends', async () => Number((await q<{ n: string }>("SELECT uniqExact(message_id) AS n FROM send_ledger WHERE journey_id = 'bench-send' AND status = 'sent'"))[0]!.n), sent.length)
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
  const captured = Number((await q<{ n: string }>("SELECT uniqExact(message_id) AS n FROM mailbox WHERE arrayElement(rcpt_to, 1) LIKE 'i-%'"))[0]!.n)

  const delayed = await drive('d', 'Bench Delay', DELAY_RATE)
  await settle('delayed steps', async () => Number((await q<{ n: string }>("SELECT count() AS n FROM journey_steps WHERE journey_id = 'bench-delay' AND step_id = 'wait'"))[0]!.n), delayed.length)
  const late = await q<{ ms: number }>("SELECT toUnixTimestamp64Milli(at) - toUnixTimestamp64Milli(scheduled_at) AS ms FROM journey_steps WHERE journey_id = 'bench-delay' AND step_id = 'wait'")

  console.log('')
  for (const f of floors) {
    row(`floor: empty workflow accepted (${f.rate}/s)`, f.accepted, Infinity)
    row(`floor: … its first task done (${f.rate}/s, sample ${f.firstTask.length})`, f.firstTask, Infinity)
  }
  row(`event → run started (${START_RATE}/s, ${starts.length} runs)`, starts.map((r) => Number(r.ms)), 250)
  row(`  run started → its first task done (sample ${startFirstTask.length})`, startFirstTask, Infinity)
  row(`event → immediate send (${SEND_RATE}/s, ${sends.length} sends)`, sends.map((r) => Number(r.ms)), 1000)
  row(`delayed step lateness (${DELAY_RATE}/s, ${late.length} steps)`, late.map((r) => Number(r.ms)), 1000)
  row(`event → run accepted by Temporal (${START_RATE}/s)`, [...accepted].map(([u, at]) => at - triggerAt.get(u)!), 250)
  for (const k of ['begin', 'check', 'hand'] as const) row(`  send: ${{ begin: 'event → run began', check: 'run began → checked (gate)', hand: 'checked → handed to SMTP' }[k]}`, phases.map((p) => Number(p[k])), Infinity)
  console.log(`CPU of this process (API, engine, worker): ingest alone ${ingestCores.toFixed(2)} cores at ${START_RATE} events/s; with the journey starts ${startCores.toFixed(2)} cores`)
  console.log(`correctness: ${dupStarts} runs started twice; ${sent.length} sends due, ${captured} distinct messages captured`)
  const mem = process.memoryUsage()
  console.log(`memory: RSS ${fmt(mem.rss / 1e6)} MB, heap ${fmt(mem.heapUsed / 1e6)} MB`)
} finally {
  await nudge.stop()
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
}

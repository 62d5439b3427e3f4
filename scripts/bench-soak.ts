/**
 * `npm run bench:soak` (issue #16): BENCH_SOAK_SECONDS (default 600) of ingest at half the
 * saturation rate with journeys running, against `npm start` in a child process:
 * - the rate: BENCH_SOAK_RATE events/s, or half of what a 10 s closed loop of /v1/batch reaches;
 * - journeys: BENCH_SOAK_TRIGGERS per second (default 25) new people, each an identify with an
 *   email and a trigger of one of two journeys (an immediate send; a 30 s delay, then a send);
 * - RSS of the Nudge process sampled every 5 s: after warm-up (the first fifth) vs the end
 *   (target < 10 % growth), with the V8 heap and the in-memory holders the process reports;
 * - /v1/batch latency p99 per minute (steady), and nothing lost: every acknowledged event stored.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, selectRows } from '../clickhouse/store.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { makeBatchTemplate, stamp } from './bench/payloads.js'
import { check, fmt, percentile } from './bench/report.js'
import { type Child, WRITE_KEY, postBatch, startChild } from './benchChild.js'

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600)
const TRIGGERS = Number(process.env.BENCH_SOAK_TRIGGERS ?? 25)
const ADMIN = 'admin_soak_key'
const SAMPLE_MS = 5_000
const templates = Array.from({ length: 64 }, (_, i) => makeBatchTemplate(i))

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

async function call(base: string, path: string, body: unknown, auth: string): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify(body),
  })
  await res.arrayBuffer()
  return res.status
}

async function journeys(base: string): Promise<void> {
  const auth = `Bearer ${ADMIN}`
  const make = async (id: string, event: string, steps: unknown[]) => {
    if ((await call(base, '/api/journeys', { id, name: id, trigger: { type: 'event', event }, steps }, auth)) !== 201)
      throw new Error(`journey ${id} not created`)
    if ((await call(base, `/api/journeys/${id}/activate`, {}, auth)) !== 200) throw new Error(`journey ${id} not activated`)
  }
  await make('soak-send', 'Soak Send', [{ id: 'send', type: 'send', template: 'related-products' }])
  await make('soak-delay', 'Soak Delay', [
    { id: 'wait', type: 'delay', duration: '30s' },
    { id: 'send', type: 'send', template: 'related-products' },
  ])
}

/** Closed loop for 10 s: the saturation rate of /v1/batch (events/s). */
async function saturation(agent: Agent, target: URL, next: () => number): Promise<{ rate: number; acked: number }> {
  let acked = 0
  const end = performance.now() + 10_000
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        const n = next()
        if ((await postBatch(agent, target, stamp(templates[n % templates.length]!, n))) === 200) acked += 100
      }
    }),
  )
  return { rate: acked / 10, acked }
}

interface Sample {
  at: number
  rss: number
  /** V8 heap used and memory held outside it (buffers), from the process's /metrics. */
  heap: number
  /** V8 heap committed (what of RSS is V8's, used or not). */
  heapTotal: number
  external: number
  /** Work held in memory: Temporal calls the router has queued, events waiting to be stored, segment work behind. */
  routing: number
  ingestQueue: number
  segmentLagS: number
}

async function memoryOf(url: string): Promise<Omit<Sample, 'at' | 'rss'>> {
  const text = await fetch(`${url}/metrics`).then(
    (r) => r.text(),
    () => '',
  )
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
  return {
    heap: read('nudge_nodejs_heap_size_used_bytes'),
    heapTotal: read('nudge_nodejs_heap_size_total_bytes'),
    external: read('nudge_nodejs_external_memory_bytes'),
    routing: read('nudge_journey_routing_queue'),
    ingestQueue: read('nudge_ingest_queue_events'),
    segmentLagS: read('nudge_segment_queue_lag_seconds'),
  }
}

/** Open loop: `rate` events/s in batches of 100, and TRIGGERS people/s into the journeys. */
async function soak(child: Child, agent: Agent, rate: number, next: () => number) {
  const target = new URL(child.url)
  const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
  const latencies: { at: number; ms: number }[] = []
  const acked = { events: 0, refused: 0, triggers: 0 }
  const samples: Sample[] = []
  const started = performance.now()
  const sampler = setInterval(() => {
    const at = (performance.now() - started) / 1000
    const rss = rssOf(child.child.pid!)
    void memoryOf(child.url).then((m) => samples.push({ at, rss, ...m }))
  }, SAMPLE_MS)
  const inflight = new Set<Promise<void>>()
  const track = (p: Promise<void>) => {
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }
  let batches = 0
  let people = 0
  while (performance.now() - started < SECONDS * 1000) {
    const elapsed = (performance.now() - started) / 1000
    for (; batches < (elapsed * rate) / 100; batches++) {
      const n = next()
      const t0 = performance.now()
      track(
        postBatch(agent, target, stamp(templates[n % templates.length]!, n)).then((status) => {
          latencies.push({ at: (t0 - started) / 1000, ms: performance.now() - t0 })
          if (status === 200) acked.events += 100
          else acked.refused += 100
        }),
      )
    }
    for (; people < elapsed * TRIGGERS; people++) {
      const userId = `soak-${people}`
      const batch = [
        { type: 'identify', userId, traits: { email: `${userId}@soak.example` } },
        { type: 'track', userId, event: people % 2 ? 'Soak Delay' : 'Soak Send', properties: { n: people } },
      ]
      track(
        call(child.url, '/v1/batch', { batch }, basic).then((status) => {
          if (status === 200) acked.triggers++
          else acked.refused += 2
        }),
      )
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  await Promise.all(inflight)
  clearInterval(sampler)
  return { latencies, acked, samples, people }
}

function report(rate: number, run: Awaited<ReturnType<typeof soak>>) {
  const { samples, latencies } = run
  const warm = Math.max(SAMPLE_MS / 1000, SECONDS / 5)
  const after = samples.find((s) => s.at >= warm) ?? samples[0]!
  const tail = samples.slice(-3)
  const end = tail.reduce((a, s) => a + s.rss, 0) / Math.max(1, tail.length)
  const growth = (end / after.rss - 1) * 100
  const mb = (b: number) => fmt(b / 1e6)
  samples.sort((a, b) => a.at - b.at)
  console.log(`RSS samples (MB, every ${SAMPLE_MS / 1000} s): ${samples.map((s) => mb(s.rss)).join(' ')}`)
  console.log(`  V8 heap used (MB):             ${samples.map((s) => mb(s.heap)).join(' ')}`)
  console.log(`  V8 heap committed (MB):        ${samples.map((s) => mb(s.heapTotal)).join(' ')}`)
  console.log(`  external (MB):                 ${samples.map((s) => mb(s.external)).join(' ')}`)
  // The rest is native: the embedded engine (its caches, parts, merges), the Temporal core, code.
  console.log(`  native = RSS − heap − ext (MB): ${samples.map((s) => mb(s.rss - s.heapTotal - s.external)).join(' ')}`)
  console.log(`  routing queue (calls):         ${samples.map((s) => fmt(s.routing)).join(' ')}`)
  console.log(`  ingest queue (events):         ${samples.map((s) => fmt(s.ingestQueue)).join(' ')}`)
  console.log(`  segment queue lag (s):         ${samples.map((s) => fmt(s.segmentLagS, 1)).join(' ')}`)
  const minutes = Math.ceil(SECONDS / 60)
  const p99s: number[] = []
  for (let m = 0; m < minutes; m++) {
    const ms = latencies.filter((l) => l.at >= m * 60 && l.at < (m + 1) * 60).map((l) => l.ms)
    if (ms.length) p99s.push(percentile(ms, 0.99))
  }
  console.log(`/v1/batch p99 per minute (ms): ${p99s.map((p) => fmt(p)).join(', ')}`)
  console.log(
    `soak RSS after warm-up (${fmt(warm)} s) ${mb(after.rss)} MB → end ${mb(end)} MB, ${fmt(growth, 1)} % at ${fmt(rate)} events/s + ${TRIGGERS} journeys/s for ${fmt(SECONDS)} s (target < 10 % growth: ${check(growth < 10)})`,
  )
  return p99s
}

async function storedCounts(dataDir: string) {
  const store = await openStore({ dataDir: join(dataDir, 'clickhouse') })
  try {
    const q = async (sql: string) => Number((await selectRows<{ n: number | string }>(store.client, sql))[0]?.n ?? 0)
    return {
      events: await q("SELECT count() AS n FROM events WHERE source = 'bench'"),
      sent: await q("SELECT uniqExact(message_id) AS n FROM send_ledger WHERE journey_id LIKE 'soak-%' AND status = 'sent'"),
      started: await q("SELECT uniqExact(workflow_id) AS n FROM journey_runs WHERE journey_id LIKE 'soak-%' AND phase = 'started'"),
    }
  } finally {
    await store.close()
  }
}

async function main(): Promise<void> {
  await ensureTemporalCli(() => {})
  const dataDir = mkdtempSync(join(tmpdir(), 'nudge-bench-soak-'))
  let child: Child | undefined
  try {
    child = await startChild(dataDir, { ADMIN_API_KEY: ADMIN, FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'warn' })
    await journeys(child.url)
    const agent = new Agent({ keepAlive: true, maxSockets: 64 })
    let n = 0
    const next = () => n++
    const fixed = Number(process.env.BENCH_SOAK_RATE ?? 0)
    const sat = fixed ? { rate: fixed * 2, acked: 0 } : await saturation(agent, new URL(child.url), next)
    const rate = Math.round(sat.rate / 2)
    console.log(
      `soak: ${fmt(SECONDS)} s at ${fmt(rate)} events/s (half the saturation rate) + ${TRIGGERS} journey triggers/s; load ${loadAvg()}`,
    )
    const run = await soak(child, agent, rate, next)
    const p99s = report(rate, run)
    agent.destroy()
    // Let the last sends and the delayed ones finish, then stop cleanly and count what was stored.
    await new Promise((r) => setTimeout(r, 35_000))
    await child.stop()
    child = undefined
    const stored = await storedCounts(dataDir)
    // Every acknowledged event: the saturation phase's, the soak's batches, each trigger's identify and track.
    const acked = sat.acked + run.acked.events + 2 * run.acked.triggers
    console.log(
      `soak p99 steady: per-minute p99 ${fmt(Math.min(...p99s))}–${fmt(Math.max(...p99s))} ms; journeys: ${fmt(run.acked.triggers)} people triggered, ${fmt(stored.started)} runs started, ${fmt(stored.sent)} sent`,
    )
    console.log(
      `soak nothing lost: ${fmt(stored.events)} events stored of ${fmt(acked)} acknowledged (${fmt(run.acked.refused)} refused, retried by no one) (target stored = acknowledged: ${check(stored.events === acked)})`,
    )
  } finally {
    await child?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function loadAvg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

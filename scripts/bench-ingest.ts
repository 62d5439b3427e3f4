/**
 * `npm run bench:ingest` — ingest throughput of the real product on this machine.
 *
 * 1. Raw engine rate: the same rows Nudge would write, inserted straight into chdb (no HTTP,
 *    no validation) — the ceiling.
 * 2. The product: `npm start`'s embedded process (Temporal dev server, chdb, worker, API) as a
 *    child; concurrent keep-alive clients on loopback post /v1/batch (mixed track/identify/page,
 *    100 events each) for BENCH_SECONDS (default 30).
 * 3. Afterwards, every acknowledged event is counted in the store (none lost, none doubled).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsentState } from '../ingest/identity/consentState.js'
import { makeKeyMatcher } from '../ingest/minimize.js'
import { normalizeEvent } from '../ingest/normalize.js'
import { buildRows } from '../ingest/buildRows.js'
import { insertRows } from '../ingest/insertRows.js'
import type { RowSet } from '../ingest/rows.js'
import { migrate } from '../clickhouse/migrate.js'
import { openStore, selectRows } from '../clickhouse/store.js'
import { segmentEvent } from '../ingest/segmentSpec.js'
import { createContactCipher } from '../core/contactCipher.js'
import { freePort } from '../runtime/freePort.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { makeBatchTemplate, stamp } from './bench/payloads.js'
import { check, fmt, middle, percentile } from './bench/report.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32)
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 10)
const WRITE_KEY = 'wk_bench_key'
const templates = Array.from({ length: 64 }, (_, i) => makeBatchTemplate(i))

async function rawEngineRate(): Promise<{ eventsPerSec: number; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-bench-raw-'))
  const store = await openStore({ dataDir: dir })
  try {
    await migrate(store.client)
    const ctx = {
      consent: new ConsentState({ tracking: true }),
      cipher: createContactCipher(Buffer.alloc(32, 7)),
      lookupKey: Buffer.alloc(32, 1),
      knownLinks: new Set<string>(),
    }
    const dropKey = makeKeyMatcher(['card_number'])
    // The writer's biggest batches (INGEST_MAX_BATCH_ROWS = 20k events), built by the writer's own
    // row builder — the engine's best case for exactly these rows.
    const batches: RowSet[] = []
    let reqNo = 0
    for (let b = 0; b < 10; b++) {
      const events = []
      for (let r = 0; r < 200; r++) {
        const body = JSON.parse(stamp(templates[reqNo % templates.length]!, 1e9 + reqNo++).toString()) as { batch: unknown[] }
        for (const item of body.batch)
          events.push(
            normalizeEvent(segmentEvent.parse(item), { source: 'bench', receivedAt: Date.now(), dropKey, consentCategoryMap: {} }),
          )
      }
      const built = buildRows(events, [], ctx, Date.now())
      for (const l of built.newLinks) ctx.knownLinks.add(l)
      batches.push(built.rows)
    }
    let events = 0
    const started = performance.now()
    while (performance.now() - started < RAW_SECONDS * 1000) {
      for (const b of batches) {
        await insertRows(store.client, b)
        events += b.events.length
        if (performance.now() - started >= RAW_SECONDS * 1000) break
      }
    }
    const seconds = (performance.now() - started) / 1000
    return { eventsPerSec: events / seconds, rows: events }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function readStatus(pid: number): { rss: number; hwm: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return { rss: 0, hwm: 0 }
  }
}

async function startProduct(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  // BENCH_PROFILE=dir writes a V8 CPU profile of the Nudge process there, to see where time goes.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'runtime/embedded.ts'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      WRITE_KEYS: `bench:${WRITE_KEY}`,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nudge exited with ${child.exitCode}`)
    try {
      const res = await fetch(`${url}/healthz`)
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('nudge did not become healthy in 120 s')
    await new Promise((r) => setTimeout(r, 250))
  }
  return { child, url }
}

function post(agent: Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/v1/batch',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Where the load goes, and the request counter both phases share (each request stamps unique ids). */
interface Load {
  agent: Agent
  target: URL
  next: () => number
  /** Events acknowledged so far, both phases. */
  acked: { events: number }
}

/** Closed loop: CLIENTS keep-alive clients post back to back for SECONDS; throughput, latency and statuses. */
async function saturate(load: Load) {
  const latencies = new Float64Array(4_000_000)
  let nLat = 0
  const statuses: Record<number, number> = {}
  const ackedRequests: number[] = []
  const perSecond: number[] = []
  let lastAcked = 0
  const ticker = setInterval(() => {
    perSecond.push(load.acked.events - lastAcked)
    lastAcked = load.acked.events
  }, 1000)
  const started = performance.now()
  const endAt = started + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < endAt) {
        const n = load.next()
        const body = stamp(templates[n % templates.length]!, n)
        const t0 = performance.now()
        let status: number
        try {
          status = await post(load.agent, load.target, body)
        } catch {
          status = 0
        }
        if (nLat < latencies.length) latencies[nLat++] = performance.now() - t0
        statuses[status] = (statuses[status] ?? 0) + 1
        if (status === 200) {
          ackedRequests.push(n)
          load.acked.events += 100
        } else if (status === 429 || status === 503) await new Promise((r) => setTimeout(r, 50))
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  clearInterval(ticker)
  return { measured: latencies.subarray(0, nLat), statuses, ackedRequests, perSecond, elapsed, events: load.acked.events }
}

/**
 * Latency below saturation: an open-loop load at `rate` requests/s (requests start on schedule
 * whether or not earlier ones have answered).
 */
async function paced(load: Load, rate: number, seconds: number) {
  const latencies: number[] = []
  const statuses: Record<number, number> = {}
  const start = performance.now()
  const pending: Promise<void>[] = []
  for (let i = 0; performance.now() - start < seconds * 1000; i++) {
    const due = start + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const n = load.next()
    const t0 = performance.now()
    pending.push(
      post(load.agent, load.target, stamp(templates[n % templates.length]!, n)).then(
        (status) => {
          latencies.push(performance.now() - t0)
          statuses[status] = (statuses[status] ?? 0) + 1
          if (status === 200) load.acked.events += 100
        },
        () => void (statuses[0] = (statuses[0] ?? 0) + 1),
      ),
    )
  }
  await Promise.all(pending)
  return { latencies, statuses }
}

/** Stops the product cleanly (flush, drain), then counts what it stored. */
async function storedCounts(child: ChildProcess, dataDir: string) {
  child.kill('SIGINT')
  await new Promise((r) => child.once('exit', r))
  const store = await openStore({ dataDir: join(dataDir, 'clickhouse') })
  const [counts] = await selectRows<{ n: string; u: string }>(store.client, 'SELECT count() AS n, uniqExact(message_id) AS u FROM events')
  await store.close()
  rmSync(dataDir, { recursive: true, force: true })
  return { stored: Number(counts?.n ?? 0), unique: Number(counts?.u ?? 0) }
}

type Figures = {
  raw: { eventsPerSec: number }
  sat: Awaited<ReturnType<typeof saturate>>
  below: Awaited<ReturnType<typeof paced>> & { rate: number; seconds: number }
  rssMb: number
  counts: { stored: number; unique: number }
  ackedEvents: number
}

function report({ raw, sat, below, rssMb, counts, ackedEvents }: Figures): string {
  const eventsPerSec = sat.events / sat.elapsed
  const p50 = percentile(sat.measured, 0.5)
  const p99 = percentile(sat.measured, 0.99)
  const ratio = eventsPerSec / raw.eventsPerSec
  const steady = sat.perSecond.slice(2, -1).sort((a, b) => a - b)
  const { stored } = counts
  return [
    '',
    `HTTP ingest   ${fmt(eventsPerSec)} events/s acknowledged (${fmt(sat.ackedRequests.length / sat.elapsed)} req/s) over ${fmt(sat.elapsed, 1)} s`,
    `              slowest steady second ${fmt(steady[0] ?? 0)} events/s, median second ${fmt(steady.length ? middle(steady) : 0)} events/s`,
    `latency       p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms   statuses ${JSON.stringify(sat.statuses)}`,
    `below saturation (open loop, ${fmt(below.rate * 100)} events/s for ${below.seconds} s): p50 ${fmt(percentile(below.latencies, 0.5), 1)} ms, p99 ${fmt(percentile(below.latencies, 0.99), 1)} ms   statuses ${JSON.stringify(below.statuses)}`,
    `peak RSS      ${fmt(rssMb)} MB (Nudge process: API + worker + chdb engine)`,
    `raw engine    ${fmt(raw.eventsPerSec)} events/s (same rows, direct inserts)`,
    `ratio         ${fmt(ratio * 100, 1)} % of the raw engine rate`,
    `stored        ${fmt(stored)} rows, ${fmt(counts.unique)} unique, acknowledged ${fmt(ackedEvents)} (both phases) → ${stored === ackedEvents ? 'none lost, none doubled' : 'MISMATCH'}`,
    '',
    `HTTP ingest: ${fmt(eventsPerSec)} events/s acknowledged, 32 clients, batches of 100   (target ≥100k events/s: ${check(eventsPerSec >= 100_000)})`,
    `HTTP ingest vs raw engine inserts: ${fmt(ratio * 100, 1)} % (${fmt(eventsPerSec)} of ${fmt(raw.eventsPerSec)} events/s)   (target ≥25 % of raw: ${check(ratio >= 0.25)})`,
    `batch latency at saturation: p50 ${fmt(p50, 1)} ms · p99 ${fmt(p99, 1)} ms (below saturation p99 ${fmt(percentile(below.latencies, 0.99), 1)} ms)   (target p99 < 100 ms: ${check(p99 < 100)})`,
    `peak RSS (API + worker + engine): ${fmt(rssMb)} MB   (target RSS < 600 MB: ${check(rssMb < 600)})`,
  ].join('\n')
}

async function main() {
  await ensureTemporalCli()
  console.log(
    `ingest benchmark: ${SECONDS} s, ${CLIENTS} concurrent clients, /v1/batch of 100 mixed events (~${Math.round(templates[0]!.body.length / 1024)} KB)`,
  )

  process.stdout.write(`raw engine insert rate (${RAW_SECONDS} s)… `)
  const raw = await rawEngineRate()
  console.log(`${fmt(raw.eventsPerSec)} events/s`)

  const dataDir = mkdtempSync(join(tmpdir(), 'nudge-bench-'))
  const { child, url } = await startProduct(dataDir)
  let reqNo = 0
  const load: Load = {
    agent: new Agent({ keepAlive: true, maxSockets: CLIENTS }),
    target: new URL(url),
    next: () => reqNo++,
    acked: { events: 0 },
  }
  let peakRss = 0
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, readStatus(child.pid!).rss)), 100)

  const sat = await saturate(load)
  // Below saturation: half the throughput just measured.
  const rate = Math.max(1, Math.floor(sat.ackedRequests.length / sat.elapsed / 2))
  const seconds = Number(process.env.BENCH_PACED_SECONDS ?? 15)
  const below = { ...(await paced(load, rate, seconds)), rate, seconds }
  clearInterval(sampler)
  const hwm = readStatus(child.pid!).hwm
  load.agent.destroy()

  const counts = await storedCounts(child, dataDir)
  console.log(report({ raw, sat, below, rssMb: Math.max(peakRss, hwm) / 1024 / 1024, counts, ackedEvents: load.acked.events }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

/**
 * `npm run bench:ingest` — ingest throughput of the real product on this machine.
 *
 * 1. The floor: the same `events` rows Nudge writes, handed to chdb as one buffer per batch
 *    (no HTTP, no validation, no profile tables) — what the engine allows on this machine, measured
 *    in the same run so the ratio holds however busy the machine is.
 * 2. The product: `npm start`'s embedded process (Temporal dev server, chdb, worker, API) as a
 *    child; concurrent keep-alive clients on loopback post /v1/batch (mixed track/identify/page,
 *    100 events each) for BENCH_SECONDS (default 30).
 * 3. Latency at half the saturation rate (open loop), and peak RSS with its parts.
 * 4. Afterwards, every acknowledged event is counted in the store (none lost, none doubled).
 * 5. BENCH_KAFKA=1: the closed loop again with INGEST_MODE=kafka (HTTP → Kafka → ClickHouse), its
 *    end-to-end rate and lag next to the direct figure (scripts/bench/kafkaRow.ts).
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsentState } from '../ingest/identity/consentState.js'
import { makeKeyMatcher } from '../ingest/minimize.js'
import { normalizeEvent } from '../ingest/normalize.js'
import { buildRows } from '../ingest/buildRows.js'
import { toTsv } from '../ingest/insertRows.js'
import { EVENT_COLUMNS } from '../ingest/rows.js'
import { insertBytes } from '../clickhouse/insertBytes.js'
import { migrate } from '../clickhouse/migrate.js'
import { openStore, selectRows } from '../clickhouse/store.js'
import { segmentEvent } from '../ingest/segmentSpec.js'
import { createContactCipher } from '../core/contactCipher.js'
import { postBatch, startChild } from './benchChild.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { makeBatchTemplate, stamp } from './bench/payloads.js'
import { check, fmt, middle, percentile } from './bench/report.js'
import { type RssParts, sampleRss } from './bench/memory.js'
import { kafkaRow } from './bench/kafkaRow.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32)
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 10)
const templates = Array.from({ length: 64 }, (_, i) => makeBatchTemplate(i))

async function floorRate(): Promise<{ eventsPerSec: number; rows: number }> {
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
    // row builder and serialised beforehand — the engine's best case for exactly these rows.
    const batches: { body: Buffer; rows: number }[] = []
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
      batches.push({ body: toTsv(built.rows.events), rows: built.rows.events.length })
    }
    let events = 0
    const started = performance.now()
    while (performance.now() - started < RAW_SECONDS * 1000) {
      for (const b of batches) {
        const settings = { max_partitions_per_insert_block: 0 }
        await insertBytes(store.client, { table: 'events', columns: EVENT_COLUMNS, format: 'TabSeparated', body: b.body, settings })
        events += b.rows
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
        const status = await postBatch(load.agent, load.target, body) // 0 when the connection failed
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
      postBatch(load.agent, load.target, stamp(templates[n % templates.length]!, n)).then((status) => {
        latencies.push(performance.now() - t0)
        statuses[status] = (statuses[status] ?? 0) + 1
        if (status === 200) load.acked.events += 100
      }),
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
  floor: { eventsPerSec: number }
  sat: Awaited<ReturnType<typeof saturate>>
  below: Awaited<ReturnType<typeof paced>> & { rate: number; seconds: number }
  rss: RssParts
  counts: { stored: number; unique: number }
  ackedEvents: number
}

function report({ floor, sat, below, rss, counts, ackedEvents }: Figures): string {
  const eventsPerSec = sat.events / sat.elapsed
  const p50 = percentile(sat.measured, 0.5)
  const p99 = percentile(sat.measured, 0.99)
  const halfP50 = percentile(below.latencies, 0.5)
  const halfP99 = percentile(below.latencies, 0.99)
  const ratio = eventsPerSec / floor.eventsPerSec
  const steady = sat.perSecond.slice(2, -1).sort((a, b) => a - b)
  const { stored } = counts
  const exact = stored === ackedEvents && counts.unique === stored
  const parts = `engine code ${fmt(rss.engineCodeMb)} MB, V8 heap ${fmt(rss.v8HeapMb)} MB, other native ${fmt(rss.otherNativeMb)} MB`
  return [
    '',
    `floor         ${fmt(floor.eventsPerSec)} events/s (the same event rows, one buffer per batch of 20k, straight into the engine)`,
    `Nudge         ${fmt(eventsPerSec)} events/s acknowledged (${fmt(sat.ackedRequests.length / sat.elapsed)} req/s) over ${fmt(sat.elapsed, 1)} s`,
    `ratio         ${fmt(ratio * 100, 1)} % of the floor`,
    `              slowest steady second ${fmt(steady[0] ?? 0)} events/s, median second ${fmt(steady.length ? middle(steady) : 0)} events/s`,
    `saturation    p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms   statuses ${JSON.stringify(sat.statuses)}`,
    `half load     ${fmt(below.rate * 100)} events/s open loop for ${below.seconds} s: p50 ${fmt(halfP50, 1)} ms, p99 ${fmt(halfP99, 1)} ms   statuses ${JSON.stringify(below.statuses)}`,
    `peak RSS      ${fmt(rss.peakMb)} MB (Nudge process: API + worker + engine): ${parts}`,
    `stored        ${fmt(stored)} rows, ${fmt(counts.unique)} unique, acknowledged ${fmt(ackedEvents)} (both phases) → ${exact ? 'none lost, none doubled' : 'MISMATCH'}`,
    '',
    `HTTP ingest: ${fmt(eventsPerSec)} events/s acknowledged, ${CLIENTS} clients, batches of 100   (target ≥50k events/s: ${check(eventsPerSec >= 50_000)})`,
    `HTTP ingest vs the floor (event rows straight into the engine, same run): ${fmt(ratio * 100, 1)} % (${fmt(eventsPerSec)} of ${fmt(floor.eventsPerSec)} events/s)   (target ≥50 % of the floor: ${check(ratio >= 0.5)})`,
    `batch latency at half the saturation rate: p50 ${fmt(halfP50, 1)} ms · p99 ${fmt(halfP99, 1)} ms (at saturation p99 ${fmt(p99, 1)} ms)   (target p99 < 100 ms: ${check(halfP99 < 100)})`,
    `peak RSS (API + worker + engine): ${fmt(rss.peakMb)} MB — ${parts}   (target ≤700 MB: ${check(rss.peakMb <= 700)})`,
    `acknowledged events stored exactly once: ${fmt(stored)} of ${fmt(ackedEvents)}   (target none lost, none doubled: ${check(exact)})`,
  ].join('\n')
}

async function main() {
  await ensureTemporalCli()
  console.log(
    `ingest benchmark: ${SECONDS} s, ${CLIENTS} concurrent clients, /v1/batch of 100 mixed events (~${Math.round(templates[0]!.body.length / 1024)} KB)`,
  )

  process.stdout.write(`floor: event rows straight into the engine (${RAW_SECONDS} s)… `)
  const floor = await floorRate()
  console.log(`${fmt(floor.eventsPerSec)} events/s`)

  const dataDir = mkdtempSync(join(tmpdir(), 'nudge-bench-'))
  const { child, url } = await startChild(dataDir, { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' })
  let reqNo = 0
  const load: Load = {
    agent: new Agent({ keepAlive: true, maxSockets: CLIENTS }),
    target: new URL(url),
    next: () => reqNo++,
    acked: { events: 0 },
  }
  const sampler = sampleRss(child.pid!, `${url}/metrics`)

  const sat = await saturate(load)
  // Below saturation: half the throughput just measured.
  const rate = Math.max(1, Math.floor(sat.ackedRequests.length / sat.elapsed / 2))
  const seconds = Number(process.env.BENCH_PACED_SECONDS ?? 15)
  const below = { ...(await paced(load, rate, seconds)), rate, seconds }
  const rss = await sampler.stop()
  load.agent.destroy()

  const counts = await storedCounts(child, dataDir)
  const text = report({ floor, sat, below, rss, counts, ackedEvents: load.acked.events })
  if (process.env.BENCH_KAFKA !== '1') return console.log(text)
  console.log(`kafka: the same closed loop with INGEST_MODE=kafka (${SECONDS} s)…`)
  const deps = { saturate, paced, storedCounts, clients: CLIENTS, firstRequest: reqNo }
  const kafka = await kafkaRow(deps, sat.events / sat.elapsed)
  // The Kafka rows go before the summary block (the text's last lines), its lines into it.
  const [rows, summary] = text.split('\n\n')
  console.log([rows, ...kafka.lines, '', summary, ...kafka.summary].join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

/**
 * `npm run bench:segments` — segments at scale on this machine, against the embedded engine.
 *
 * Synthetic store: BENCH_USERS users (default 1M), BENCH_EVENTS events (default 10M) over 90
 * days, two traits per user, 10 % of users with anonymous history. Then:
 *  1. full recompute of a 3-condition behavioural + demographic segment (query, and end to end);
 *  2. incremental updates at BENCH_RATE events/s (default 2,000) through the real ingest writer:
 *     time from "stored" to "segments re-evaluated" per event;
 *  3. sweeps of the time-dependent segments: duration, and lag = interval + duration.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsentState } from '../ingest/identity/consentState.js'
import { EventWriter } from '../ingest/eventWriter.js'
import { normalizeEvent } from '../ingest/normalize.js'
import { NO_DROP } from '../ingest/minimize.js'
import { migrate } from '../clickhouse/migrate.js'
import { compileSegment } from '../segments/compile.js'
import { DEFAULT_LOYALTY_TIERS, DEFAULT_RFM } from '../segments/computedSql.js'
import type { SegmentDefinition } from '../segments/ruleSchema.js'
import { SegmentEngine } from '../segments/segmentEngine.js'
import { openStore, selectRows } from '../clickhouse/store.js'
import { segmentEvent } from '../ingest/segmentSpec.js'
import { createContactCipher } from '../core/contactCipher.js'
import { check, fmt, greatest, least, percentile } from './bench/report.js'

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000)
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const RATE = Number(process.env.BENCH_RATE ?? 2000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
const SWEEP_INTERVAL_MS = 30_000
// BENCH_EVALUATION=sql measures the scoped-query path (scaled mode) instead of live facts.
const LIVE = (process.env.BENCH_EVALUATION ?? 'live') === 'live'
const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now()
  const r = await f()
  return [r, performance.now() - t]
}

const threeConditions: SegmentDefinition = {
  id: 'engaged-nordic-adults',
  name: 'Viewed ≥ 2 products in 7 days, in NO/SE, aged 25–45',
  rule: {
    and: [
      { performed: { event: 'Product Viewed', within: '7d', count: { gte: 2 } } },
      { trait: { key: 'country', op: 'in', value: ['NO', 'SE'] } },
      { trait: { key: 'age', op: 'between', value: [25, 45] } },
    ],
  },
}
const cartAbandoned: SegmentDefinition = {
  id: 'cart-abandoned',
  name: 'Added to cart, no checkout of that cart within 24 h',
  rule: {
    sequence: {
      first: { event: 'Product Added' },
      then: { event: 'Order Completed' },
      within: '24h',
      lookback: '7d',
      sameProperty: 'cartId',
    },
  },
}
const lapsedVip: SegmentDefinition = {
  id: 'lapsed-vip',
  name: 'Lapsed VIPs',
  rule: {
    and: [{ computed: { property: 'ltv', op: 'gte', value: 1000 } }, { computed: { property: 'days_inactive', op: 'gte', value: 30 } }],
  },
}

type Client = Awaited<ReturnType<typeof openStore>>['client']

/** The synthetic store: events over 90 days, anonymous history for 10 % of users, two traits each. */
async function generate(c: Client): Promise<number> {
  const [, genMs] = await time(async () => {
    await c.command({
      query: `INSERT INTO events (message_id, source, type, event, name, user_id, anonymous_id, user_key, timestamp, received_at, properties, traits, context, group_id, previous_id, consent_limited)
        SELECT concat('m', toString(number)), 'bench', 'track',
          arrayElement(['Product Viewed', 'Product Viewed', 'Product Viewed', 'Product Added', 'Order Completed', 'Email Opened', 'Email Link Clicked', 'Products Searched'], 1 + cityHash64(number, 1) % 8) AS ev,
          '', concat('u', toString(cityHash64(number, 2) % {users:UInt64})) AS uid, '', uid,
          now64(3) - toIntervalMillisecond(cityHash64(number, 3) % (90 * 86400000)) AS ts, ts,
          concat('{"category":"', arrayElement(['shoes', 'bags', 'hats', 'shirts'], 1 + cityHash64(number, 4) % 4), '","revenue":', toString(20 + cityHash64(number, 5) % 400), ',"cartId":"c', toString(cityHash64(number, 6) % 3000000), '"}'),
          '{}', '{}', '', '', 0
        FROM numbers({events:UInt64})`,
      query_params: { users: USERS, events: EVENTS },
    })
    // Anonymous browsing before sign-in for 10 % of users, linked by identify.
    await c.command({
      query: `INSERT INTO events (message_id, source, type, event, name, user_id, anonymous_id, user_key, timestamp, received_at, properties, traits, context, group_id, previous_id, consent_limited)
        SELECT concat('a', toString(number)), 'bench', 'track', 'Product Viewed', '', '', concat('anon', toString(number % {linked:UInt64})) AS a, a,
          now64(3) - toIntervalMillisecond(cityHash64(number, 7) % (30 * 86400000)) AS ts, ts, '{"category":"shoes"}', '{}', '{}', '', '', 0
        FROM numbers({n:UInt64})`,
      query_params: { linked: Math.floor(USERS / 10), n: Math.floor(EVENTS / 20) },
    })
    await c.command({
      query: `INSERT INTO identities (user_id, anonymous_id, kind, linked_at, message_id) SELECT concat('u', toString(number)), concat('anon', toString(number)), 'identify', now64(3) - toIntervalDay(31), '' FROM numbers({n:UInt64})`,
      query_params: { n: Math.floor(USERS / 10) },
    })
    await c.command({
      query: `INSERT INTO traits (user_key, key, value, updated_at, message_id) SELECT concat('u', toString(number)), k, v, now64(3) - toIntervalDay(100), ''
        FROM numbers({users:UInt64}) ARRAY JOIN ['country', 'age'] AS k,
          [concat('"', arrayElement(['NO', 'SE', 'DK', 'DE', 'FR'], 1 + cityHash64(number, 8) % 5), '"'), toString(18 + cityHash64(number, 9) % 60)] AS v`,
      query_params: { users: USERS },
    })
    await c.command({ query: 'OPTIMIZE TABLE events FINAL' })
  })
  return genMs
}

/** 1. The compiled query of the 3-condition segment, three times. */
async function fullRecompute(c: Client) {
  const ctx = {
    now: Date.now(),
    purchaseEvent: 'Order Completed',
    rfm: DEFAULT_RFM,
    loyaltyTiers: DEFAULT_LOYALTY_TIERS,
    consentDefaults: {},
  }
  const q = compileSegment(threeConditions.rule, ctx)
  const queryTimes: number[] = []
  let size = 0
  for (let i = 0; i < 3; i++) {
    const [rows, ms] = await time(() => selectRows<{ user_key: string }>(c, q.sql, q.params))
    size = rows.length
    queryTimes.push(ms)
  }
  return { queryTimes, size }
}

/** The real writer and engine, as the product wires them. */
async function startEngine(c: Client, dir: string) {
  // The real writer: live evaluation follows what it stores, and holds it while facts are loaded.
  const writer = new EventWriter({
    client: c,
    consent: new ConsentState({ tracking: true }),
    cipher: createContactCipher(Buffer.alloc(32, 3)),
    lookupKey: Buffer.alloc(32, 4),
    maxBatchRows: 20_000,
    lingerMs: 5,
    maxQueuedRows: 200_000,
    dedupeWindow: 100_000,
  })
  // As in the product: segment evaluation on a connection of its own.
  const segmentStore = await openStore({ dataDir: dir })
  const engine = new SegmentEngine({
    client: segmentStore.client,
    computed: { purchaseEvent: 'Order Completed', loyaltyTiers: DEFAULT_LOYALTY_TIERS },
    consentDefaults: {},
    sweepIntervalMs: SWEEP_INTERVAL_MS,
    batchMs: 0,
    ...(LIVE ? { live: { storedSeq: () => writer.storedSeq, pauseWrites: <T>(fn: () => Promise<T>) => writer.exclusive(fn) } } : {}),
  })
  await engine.load()
  return { writer, engine, segmentStore }
}

/** Creating the segments: first membership, then (live) their facts loaded in the background. */
async function createSegments(engine: SegmentEngine, full: { queryTimes: number[]; size: number }) {
  const { queryTimes, size } = full
  // Live: the universe (who exists) loads in the background at start.
  const [, startMs] = await time(() => engine.idle())
  if (LIVE) console.log(`live facts      start: every user's existence loaded in ${fmt(startMs)} ms (in the background)`)
  const rssBefore = process.memoryUsage().rss
  // Live: save answers once the compiled query has set membership; the rule's facts then load in
  // the background (ingest going on) — `idle` waits for that.
  const [, createMs] = await time(() => engine.save(threeConditions, false))
  const [, readyMs] = await time(() => engine.idle())
  const [, recomputeMs] = await time(() => engine.recompute(threeConditions.id))
  console.log(
    `full recompute  3-condition segment (${fmt(size)} members): query ${fmt(least(queryTimes))} ms (best of 3), ${fmt(percentile(queryTimes, 0.5))} ms median; create with first membership ${fmt(createMs)} ms; recompute ${fmt(recomputeMs)} ms`,
  )
  if (LIVE) console.log(`                its facts loaded in the background in ${fmt(readyMs)} ms (ingest not held)`)
  // BENCH_NO_COMPUTED=1 leaves out the all-history computed segment, to see what it costs.
  const [, cartMs] = await time(() => engine.save(cartAbandoned, false))
  const [, cartReady] = await time(() => engine.idle())
  console.log(
    `                cart-abandoned ${fmt(engine.get('cart-abandoned').size)} members in ${fmt(cartMs)} ms${LIVE ? `, facts in ${fmt(cartReady)} ms more` : ''}`,
  )
  if (!process.env.BENCH_NO_COMPUTED) {
    const [, vipMs] = await time(() => engine.save(lapsedVip, false))
    const [, vipReady] = await time(() => engine.idle())
    console.log(
      `                lapsed-vip ${fmt(engine.get('lapsed-vip').size)} members in ${fmt(vipMs)} ms${LIVE ? `, facts (all-history totals) in ${fmt(vipReady)} ms more` : ''}`,
    )
  }
  const rssMb = (b: number) => fmt(b / 1e6)
  if (LIVE)
    console.log(
      `live facts      RSS ${rssMb(rssBefore)} MB before → ${rssMb(process.memoryUsage().rss)} MB with every user's facts for the 3 segments (heap ${rssMb(process.memoryUsage().heapUsed)} MB)`,
    )
}

/** 2. Incremental, through the real writer at RATE events/s for SECONDS. */
async function incremental(writer: EventWriter, engine: SegmentEngine) {
  // Stored → decided (evaluated) and stored → recorded (the transition is in the store, listeners told).
  const storedAt = new Map<string, number>()
  const recorded: number[] = []
  writer.onStored((events) => {
    const t = performance.now()
    for (const e of events) storedAt.set(e.messageId, t)
  })
  engine.onTransition((t) => {
    const at = storedAt.get(t.triggerMessageId)
    if (at !== undefined && t.cause === 'event') recorded.push(performance.now() - at)
  })
  writer.onStored((events, consent, rows) => engine.handleStored(events, consent, rows))
  const latencies: number[] = []
  let rounds = 0
  let flushes = 0
  let flushMs = 0
  engine.onEvaluated((ls) => {
    rounds++
    latencies.push(...ls)
  })
  writer.onFlush((f) => {
    flushes++
    flushMs += f.durationMs
  })
  let sent = 0
  const names = ['Product Viewed', 'Product Added', 'Order Completed', 'Email Opened']
  const tickMs = 10
  const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000))
  const started = performance.now()
  const inflight: Promise<void>[] = []
  while (performance.now() - started < SECONDS * 1000) {
    const batch = Array.from({ length: perTick }, () => {
      const n = sent++
      const raw = segmentEvent.parse({
        type: 'track',
        messageId: `live-${n}`,
        userId: `u${Math.floor(Math.random() * USERS)}`,
        event: names[n % names.length],
        properties: { cartId: `live-cart-${n % 5000}`, revenue: 50, category: 'shoes' },
      })
      return normalizeEvent(raw, { source: 'bench', receivedAt: Date.now(), dropKey: NO_DROP, consentCategoryMap: {} })
    })
    inflight.push(writer.write({ events: batch }))
    const next = started + (sent / RATE) * 1000
    const wait = next - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  await Promise.all(inflight)
  await writer.close()
  await engine.idle()
  const elapsed = (performance.now() - started) / 1000
  console.log(
    `incremental   ${LIVE ? 'live facts' : 'scoped SQL'}, ${fmt(sent)} events at ${fmt(sent / elapsed)} events/s: stored → re-evaluated p50 ${fmt(percentile(latencies, 0.5), 2)} ms, p99 ${fmt(percentile(latencies, 0.99), 2)} ms, max ${fmt(greatest(latencies), 1)} ms (${fmt(latencies.length)} events affecting a segment)`,
  )
  console.log(
    `              stored → transition recorded and announced: p50 ${fmt(percentile(recorded, 0.5), 1)} ms, p99 ${fmt(percentile(recorded, 0.99), 1)} ms, max ${fmt(greatest(recorded), 1)} ms (${fmt(recorded.length)} transitions)`,
  )
  console.log(
    `              ${fmt(rounds)} evaluation rounds (${fmt(latencies.length / Math.max(1, rounds))} events each); the writer's ${fmt(flushes)} batches took ${fmt(flushMs / 1000, 1)} s of ${fmt(elapsed, 1)} s in all`,
  )

  return { latencies, recorded }
}

/** 3. Sweeps of the time-dependent segments: duration, and lag = interval + duration. */
async function sweeps(engine: SegmentEngine) {
  const sweepMs: number[] = []
  for (let i = 0; i < 3; i++) {
    const [, ms] = await time(() => engine.sweep())
    sweepMs.push(ms)
  }
  const lagP99 = SWEEP_INTERVAL_MS + percentile(sweepMs, 0.99)
  console.log(
    `sweep         ${engine.sweepStatus.segments} time-dependent segments: ${sweepMs.map((m) => fmt(m)).join(', ')} ms; lag (interval ${SWEEP_INTERVAL_MS / 1000} s + sweep) p99 ${fmt(lagP99 / 1000, 1)} s`,
  )

  return lagP99
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-bench-seg-'))
  const store = await openStore({ dataDir: dir })
  const c = store.client
  await migrate(c)
  console.log(`segments benchmark: ${fmt(USERS)} users, ${fmt(EVENTS)} events, incremental at ${fmt(RATE)} events/s for ${SECONDS} s`)
  const genMs = await generate(c)
  const [[counts]] = await time(() => selectRows<{ n: string }>(c, 'SELECT count() AS n FROM events'))
  console.log(`data          ${fmt(Number(counts!.n))} events generated in ${fmt(genMs / 1000, 1)} s`)

  const full = await fullRecompute(c)
  const { queryTimes } = full
  const { writer, engine, segmentStore } = await startEngine(c, dir)
  await createSegments(engine, full)
  const { latencies } = await incremental(writer, engine)
  const lagP99 = await sweeps(engine)

  console.log(
    [
      '',
      `full recompute of a 3-condition segment over 10M events: best ${fmt(least(queryTimes))} ms   (target full recompute < 3 s: ${check(least(queryTimes) < 3000)})`,
      `incremental, stored → re-evaluated at 2,000 events/s: p50 ${fmt(percentile(latencies, 0.5), 1)} ms · p99 ${fmt(percentile(latencies, 0.99), 1)} ms   (target incremental p99 < 50 ms: ${check(percentile(latencies, 0.99) < 50)})`,
      `time-dependent segments, lag (interval + sweep): p99 ${fmt(lagP99 / 1000, 1)} s   (target sweep lag p99 < 60 s: ${check(lagP99 < 60_000)})`,
    ].join('\n'),
  )
  await engine.stop()
  await segmentStore.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

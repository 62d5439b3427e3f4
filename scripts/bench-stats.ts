/**
 * `npm run bench:stats`
 * 1. The engine alone: comparisons per second (two arms; frequentist, Bayesian, sequential, CUPED
 *    and ratio requests in turn). Target ≥ 100k/s.
 * 2. Results from stored data, end to end: BENCH_USERS (1,000,000) exposed units and BENCH_EVENTS
 *    (10,000,000) events written by the engine itself, then `GET /api/experiments/:key/results`'s
 *    work (three metrics — conversion, revenue with CUPED, a guardrail — SRM, adjustment, power,
 *    decision) with and without the daily series. Target < 2 s.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrate } from '../clickhouse/migrate.js'
import { openStore } from '../clickhouse/store.js'
import { analyze } from '../analytics/stats/analyze.js'
import type { AnalyzeRequest } from '../analytics/stats/analyzeSchema.js'
import { ExperimentService } from '../experiments/experimentService.js'
import { ExperimentResults } from '../analytics/results/resultsService.js'
import { check, fmt, least, percentile } from './bench/report.js'

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000)
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const DAY = 86_400_000

// 1. The engine
const arm = (name: string, n: number, mean: number, sd: number) => ({
  name,
  n,
  sum: n * mean,
  sumSquares: (n - 1) * sd * sd + n * mean * mean,
})
const requests: AnalyzeRequest[] = [
  { metric: { type: 'mean' }, engine: 'frequentist', differenceType: 'relative', arms: [arm('c', 5000, 10, 4), arm('t', 5100, 10.3, 4.2)] },
  {
    metric: { type: 'binomial' },
    engine: 'bayesian',
    differenceType: 'relative',
    arms: [
      { name: 'c', n: 20000, sum: 1000 },
      { name: 't', n: 20000, sum: 1100 },
    ],
  },
  {
    metric: { type: 'mean' },
    engine: 'frequentist',
    differenceType: 'absolute',
    sequential: { tuning: 5000 },
    arms: [arm('c', 5000, 10, 4), arm('t', 5100, 10.3, 4.2)],
  },
  {
    metric: { type: 'mean' },
    engine: 'frequentist',
    differenceType: 'relative',
    cuped: true,
    arms: [
      {
        ...arm('c', 5000, 10, 4),
        covariateSum: 5000 * 9,
        covariateSumSquares: 4999 * 16 + 5000 * 81,
        sumProductCovariate: 4999 * 8 + 5000 * 90,
      },
      {
        ...arm('t', 5000, 10.4, 4),
        covariateSum: 5000 * 9.1,
        covariateSumSquares: 4999 * 16 + 5000 * 82.81,
        sumProductCovariate: 4999 * 8 + 5000 * 94.64,
      },
    ],
  },
] as AnalyzeRequest[]
const N = 300_000
let t = performance.now()
for (let i = 0; i < N; i++) analyze(requests[i % requests.length]!)
const perSec = N / ((performance.now() - t) / 1000)
console.log(
  `engine: ${fmt(perSec)} comparisons/s on one thread (${requests.length} request kinds in turn)   (target ≥ 100,000/s: ${check(perSec >= 100_000)})`,
)

// 2. Results end to end
const dir = mkdtempSync(join(tmpdir(), 'nudge-bench-stats-'))
const store = await openStore({ dataDir: dir })
try {
  await migrate(store.client)
  const now = Date.now()
  const start = now - 14 * DAY
  t = performance.now()
  await store.client.command({
    query: `INSERT INTO experiment_exposures SELECT 'bench', concat('u', toString(number)), if(intHash32(number) % 2 = 0, 'control', 'treatment'),
              fromUnixTimestamp64Milli(toInt64({start:Int64} + (number * 7919) % (12 * 86400000))), '{}', 1 FROM numbers({users:UInt64})`,
    query_params: { start, users: USERS },
  })
  // Purchases (treatment converts a little more), page views, and unsubscribes; before and after exposure.
  await store.client.command({
    query: `INSERT INTO events (message_id, source, type, event, user_id, user_key, timestamp, received_at, properties, context, traits)
            SELECT concat('e', toString(number)), 'bench', 'track', kind, u, u, ts, ts, props, '{}', '{}'
            FROM (
              SELECT number, concat('u', toString(intHash64(number) % {users:UInt64})) AS u,
                     fromUnixTimestamp64Milli(toInt64({start:Int64} - 14 * 86400000 + (number * 104729) % (28 * 86400000))) AS ts,
                     multiIf(number % 20 = 0, 'Order Completed', number % 997 = 0, 'Unsubscribed', 'Page Viewed') AS kind,
                     if(kind = 'Order Completed', concat('{"revenue":', toString(10 + number % 90), '}'), '{}') AS props
              FROM numbers({events:UInt64}))`,
    query_params: { start, users: USERS, events: EVENTS },
  })
  console.log(
    `data: ${fmt(USERS)} exposed units, ${fmt(EVENTS)} events written by the engine in ${fmt((performance.now() - t) / 1000, 1)} s`,
  )

  const experiments = new ExperimentService({ client: store.client, globalHoldout: 0, isMember: () => false, pollMs: 60_000 })
  await experiments.load()
  await experiments.create({
    key: 'bench',
    name: 'bench',
    variants: [
      { key: 'control', weight: 0.5 },
      { key: 'treatment', weight: 0.5 },
    ],
    primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7 },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, capPercentile: 0.99 }],
    guardrailMetrics: [{ event: 'Unsubscribed', kind: 'conversion', windowDays: 7, inverse: true }],
    stats: { engine: 'frequentist', alpha: 0.05, sequential: { enabled: true, tuning: 5000 }, cuped: { enabled: true, preDays: 14 } },
  } as never)
  await experiments.transition('bench', 'running')
  const results = new ExperimentResults({ client: store.client, experiments, testUsers: [] })
  for (const overTime of [false, true]) {
    const times: number[] = []
    let last: Awaited<ReturnType<ExperimentResults['results']>> | undefined
    for (let i = 0; i < 3; i++) {
      t = performance.now()
      last = await results.results('bench', { overTime })
      times.push(performance.now() - t)
    }
    const best = least(times)
    console.log(
      `results ${overTime ? 'with the daily series' : 'without the daily series'}: best ${fmt(best)} ms, median ${fmt(percentile(times, 0.5))} ms of 3   (target < 2,000 ms: ${check(best < 2000)})`,
    )
    if (!overTime)
      console.log(
        `  units ${JSON.stringify(last!.units)}; SRM p ${last!.srm.pValue.toFixed(3)}; decision ${last!.decision.hint}; primary lift ${JSON.stringify(last!.metrics[0]!.comparisons[0]?.effect)}`,
      )
  }
  await experiments.stop()
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}

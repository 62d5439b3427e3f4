import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import { analyze } from '../stats/analyze.js'
import type { AnalyzeRequest } from '../stats/analyzeSchema.js'

const DAY = 86_400_000

/**
 * What journeys are worth against the global holdout (GLOBAL_HOLDOUT: users who get no journey
 * email at all, recorded as skipped with reason `global_holdout`): per journey and overall,
 * conversion and revenue per recipient within `windowDays` of entering, holdout vs mailed,
 * relative lift with its interval. Test accounts are left out.
 */
export interface HoldoutQuery {
  from: number
  until: number
  windowDays: number
  purchaseEvent: string
  revenueProperty: string
  alpha: number
}

const SQL = `
  WITH runs AS (
    SELECT journey_id, user_key, min(at) AS entered
    FROM journey_runs
    WHERE phase = 'started' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
    GROUP BY journey_id, user_key
  ),
  per_user AS (
    SELECT r.journey_id AS journey, r.user_key AS user, r.entered AS entered_at,
           toFloat64(countIf(e.ts >= r.entered AND e.ts < r.entered + toIntervalMillisecond({windowMs:Int64})) > 0) AS converted,
           sumIf(e.v, e.ts >= r.entered AND e.ts < r.entered + toIntervalMillisecond({windowMs:Int64})) AS revenue
    FROM runs AS r
    LEFT JOIN (
      SELECT user_key, timestamp AS ts, JSONExtractFloat(properties, {revenue:String}) AS v
      FROM events WHERE event = {purchase:String} AND user_key IN (SELECT user_key FROM runs)
    ) AS e ON e.user_key = r.user_key
    GROUP BY r.journey_id, r.user_key, r.entered
  )
  SELECT journey, held, count() AS n, sum(converted) AS conversions, sum(revenue) AS revenue_sum, sum(revenue * revenue) AS revenue_squares
  FROM (
    SELECT journey, user, converted, revenue,
           user IN (SELECT user_key FROM journey_steps WHERE reason = 'global_holdout') AS held
    FROM per_user
    UNION ALL
    -- Overall: each user once, from their first entry into any journey.
    SELECT '*' AS journey, user, argMin(converted, entered_at), argMin(revenue, entered_at),
           user IN (SELECT user_key FROM journey_steps WHERE reason = 'global_holdout') AS held
    FROM per_user GROUP BY user
  )
  GROUP BY journey, held
  ORDER BY journey, held`

export async function holdoutReport(client: ClickHouseClient, q: HoldoutQuery) {
  const rows = await selectRows<{
    journey: string
    held: number
    n: string
    conversions: number
    revenue_sum: number
    revenue_squares: number
  }>(client, SQL, {
    from: q.from,
    until: q.until,
    windowMs: Math.round(q.windowDays * DAY), // bound as Int64: a fractional day must not be a fractional millisecond
    purchase: q.purchaseEvent,
    revenue: q.revenueProperty,
  })
  const journeys = [...new Set(rows.map((r) => r.journey))]
  const compare = (held: (typeof rows)[number] | undefined, sent: (typeof rows)[number] | undefined, metric: 'conversion' | 'revenue') => {
    if (!held || !sent || Number(held.n) < 2 || Number(sent.n) < 2) return null
    const arm = (name: string, r: (typeof rows)[number]) =>
      metric === 'conversion'
        ? { name, n: Number(r.n), sum: Number(r.conversions), sumSquares: Number(r.conversions) }
        : { name, n: Number(r.n), sum: Number(r.revenue_sum), sumSquares: Number(r.revenue_squares) }
    const req = {
      metric: { type: metric === 'conversion' ? 'binomial' : 'mean' },
      engine: 'frequentist',
      differenceType: 'relative',
      alpha: q.alpha,
      arms: [arm('holdout', held), arm('mailed', sent)],
    } as AnalyzeRequest
    const res = analyze(req)
    const c = res.comparisons[0]!
    return { holdout: res.arms[0]!.mean, mailed: res.arms[1]!.mean, lift: c.effect, ci: c.ci, pValue: c.pValue ?? null }
  }
  const out = journeys.map((j) => {
    const held = rows.find((r) => r.journey === j && Number(r.held) === 1)
    const sent = rows.find((r) => r.journey === j && Number(r.held) === 0)
    return {
      journey: j === '*' ? 'all journeys' : j,
      recipients: { holdout: Number(held?.n ?? 0), mailed: Number(sent?.n ?? 0) },
      conversionPerRecipient: compare(held, sent, 'conversion'),
      revenuePerRecipient: compare(held, sent, 'revenue'),
    }
  })
  return {
    from: new Date(q.from).toISOString(),
    until: new Date(q.until).toISOString(),
    windowDays: q.windowDays,
    journeys: out.filter((o) => o.journey !== 'all journeys'),
    overall: out.find((o) => o.journey === 'all journeys') ?? null,
  }
}

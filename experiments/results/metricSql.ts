import type { Metric } from '../experimentSchema.js'

/**
 * The SQL that reduces an experiment's stored data to what the stats engine takes: per arm the
 * sufficient statistics of one metric over units (n, Σy, Σy² — and, with CUPED, Σx, Σx², Σxy of
 * the same metric in the pre-exposure period). A unit counts from its first exposure; its metric
 * is what it did within the metric's window after that (and before `until`). Every value is a
 * bound parameter; only the metric's kind picks a fixed expression.
 *
 * Test accounts are left out: units named in TEST_USER_IDS and every unit a test send went to.
 */
export interface MetricQueryParams {
  key: string
  metric: Metric
  until: number
  cupedPreDays?: number
  testUsers: string[]
}

/** Per-unit value of the metric over [from, to): conversion (0/1), count, or sum of a property. */
function valueOver(kind: Metric['kind'], from: string, to: string): string {
  const inside = `ev.ts >= ${from} AND ev.ts < ${to}`
  if (kind === 'conversion') return `toFloat64(countIf(${inside}) > 0)`
  if (kind === 'count') return `toFloat64(countIf(${inside}))`
  return `sumIf(ev.v, ${inside})`
}

/** Exposed units (first exposure, its arm), test accounts excluded. */
export const EXPOSED_UNITS = `
  SELECT unit, argMin(variant, first_at) AS arm, min(first_at) AS exposed_at
  FROM experiment_exposures
  WHERE experiment_key = {key:String} AND first_at <= fromUnixTimestamp64Milli({until:Int64})
    AND unit NOT IN {testUsers:Array(String)}
    AND unit NOT IN (SELECT user_key FROM send_ledger WHERE is_test = 1)
  GROUP BY unit`

/** One row per exposed unit: its arm, first exposure, y and (CUPED) x. */
export function perUnitSql(p: MetricQueryParams): string {
  const window = 'toIntervalMillisecond({windowMs:Int64})'
  const end = `least(u.exposed_at + ${window}, fromUnixTimestamp64Milli({until:Int64}))`
  const pre = p.cupedPreDays ? `u.exposed_at - toIntervalMillisecond({preMs:Int64})` : undefined
  return `
    SELECT u.unit AS unit, u.arm AS variant, u.exposed_at AS exposed_at,
           ${valueOver(p.metric.kind, 'u.exposed_at', end)} AS y,
           ${pre ? valueOver(p.metric.kind, pre, 'u.exposed_at') : '0'} AS x
    FROM (${EXPOSED_UNITS}) AS u
    LEFT JOIN (
      SELECT user_key, timestamp AS ts, ${p.metric.kind === 'sum' ? 'JSONExtractFloat(properties, {property:String})' : '1'} AS v
      FROM events
      WHERE event = {event:String}
        AND user_key IN (SELECT unit FROM experiment_exposures WHERE experiment_key = {key:String})
        AND timestamp < fromUnixTimestamp64Milli({until:Int64})
    ) AS ev ON ev.user_key = u.unit
    GROUP BY u.unit, u.arm, u.exposed_at`
}

/** Per arm: n, Σy, Σy², Σx, Σx², Σxy (y capped at the metric's percentile when it has one). */
export function armStatsSql(p: MetricQueryParams): string {
  const capped = p.metric.capPercentile !== undefined
  return `
    WITH per_unit AS (${perUnitSql(p)})
    SELECT variant, count() AS n,
           sum(yc) AS sum, sum(yc * yc) AS sum_squares,
           sum(x) AS covariate_sum, sum(x * x) AS covariate_sum_squares, sum(x * yc) AS sum_product_covariate,
           any(cap) AS cap
    FROM (
      SELECT variant, x, ${capped ? 'least(y, cap)' : 'y'} AS yc, cap
      FROM per_unit
      ${capped ? 'CROSS JOIN (SELECT quantileExact({cap:Float64})(y) AS cap FROM per_unit) AS c' : 'CROSS JOIN (SELECT toFloat64(0) AS cap) AS c'}
    )
    GROUP BY variant
    ORDER BY variant`
}

/**
 * The same per day, cumulative: for each day end D (UTC midnights after the start, up to `until`),
 * units exposed before D with their metric counted up to min(D, window end).
 */
export function dailySql(p: MetricQueryParams): string {
  const window = 'toIntervalMillisecond({windowMs:Int64})'
  const v = p.metric.kind === 'sum' ? 'JSONExtractFloat(properties, {property:String})' : '1'
  const y =
    p.metric.kind === 'conversion'
      ? `toFloat64(arrayExists((t) -> t >= u.exposed_at AND t < least(d, u.exposed_at + ${window}), ts))`
      : `arraySum(arrayMap((t, val) -> if(t >= u.exposed_at AND t < least(d, u.exposed_at + ${window}), val, 0), ts, vs))`
  return `
    SELECT toString(toDate(d - toIntervalSecond(1))) AS day, variant, count() AS n, sum(y) AS sum, sum(y * y) AS sum_squares
    FROM (
      SELECT u.arm AS variant, d, ${y} AS y
      FROM (${EXPOSED_UNITS}) AS u
      LEFT JOIN (
        SELECT user_key, groupArray(timestamp) AS ts, groupArray(toFloat64(${v})) AS vs
        FROM events
        WHERE event = {event:String}
          AND user_key IN (SELECT unit FROM experiment_exposures WHERE experiment_key = {key:String})
          AND timestamp < fromUnixTimestamp64Milli({until:Int64})
        GROUP BY user_key
      ) AS e ON e.user_key = u.unit
      ARRAY JOIN {days:Array(DateTime64(3, 'UTC'))} AS d
      WHERE u.exposed_at < d
    )
    GROUP BY day, variant
    ORDER BY day, variant`
}

export function metricParams(p: MetricQueryParams, days?: number[]): Record<string, unknown> {
  return {
    key: p.key,
    until: p.until,
    testUsers: p.testUsers,
    event: p.metric.event,
    property: p.metric.property ?? '',
    windowMs: Math.round(p.metric.windowDays * 86_400_000),
    preMs: Math.round((p.cupedPreDays ?? 0) * 86_400_000),
    cap: p.metric.capPercentile ?? 1,
    ...(days ? { days: days.map((d) => new Date(d).toISOString().replace('T', ' ').replace('Z', '')) } : {}),
  }
}

import type { Metric } from '../../experiments/experimentSchema.js'

/**
 * The SQL that reduces an experiment's stored data to what the stats engine takes: per arm the
 * sufficient statistics of each metric over units (n, Σy, Σy² — and, with CUPED, Σx, Σx², Σxy of
 * the same metric in the pre-exposure period). A unit counts from its first exposure; its metric
 * is what it did within the metric's window after that (and before `until`).
 *
 * Shape, for speed at millions of units: n comes from the exposures alone; the sums only from the
 * units that did something (a unit without events adds 0 to every sum), so the events — filtered
 * by name first — are joined to exposures, never the other way round, and every metric of the
 * experiment is computed in the same pass. Every value is a bound parameter; only the metric's
 * kind picks a fixed expression. Test accounts are left out: units in TEST_USER_IDS and every
 * unit a test send went to.
 */
export interface ResultsQuery {
  key: string
  metrics: Metric[]
  until: number
  cupedPreDays?: number
  testUsers: string[]
}

/** Exposed units (first exposure, its arm), test accounts excluded. */
const EXPOSED_UNITS = `
  SELECT unit, argMin(variant, first_at) AS arm, min(first_at) AS exposed_at
  FROM experiment_exposures
  WHERE experiment_key = {key:String} AND first_at <= fromUnixTimestamp64Milli({until:Int64})
    AND unit NOT IN {testUsers:Array(String)}
    AND unit NOT IN (SELECT user_key FROM send_ledger WHERE is_test = 1)
  GROUP BY unit`

/** Units per arm, and per arm and UTC day of first exposure (the daily series cumulates these). */
export function exposureCountsSql(): string {
  return `SELECT arm, toString(toDate(exposed_at)) AS day, count() AS n, toUnixTimestamp64Milli(min(exposed_at)) AS first_ms
          FROM (${EXPOSED_UNITS}) GROUP BY arm, day ORDER BY arm, day`
}

/** One metric's value for a unit over [from, to): conversion (0/1), count, or a property's sum. */
function valueOver(i: number, kind: Metric['kind'], from: string, to: string): string {
  const inside = `e.event = {event${i}:String} AND e.ts >= ${from} AND e.ts < ${to}`
  if (kind === 'conversion') return `toFloat64(countIf(${inside}) > 0)`
  if (kind === 'count') return `toFloat64(countIf(${inside}))`
  return `sumIf(JSONExtractFloat(e.properties, {property${i}:String}), ${inside})`
}

/** Per unit that did anything relevant: its arm and each metric's y (and CUPED x). */
function activeUnitsSql(q: ResultsQuery): string {
  const cols = q.metrics.flatMap((m, i) => {
    const end = `least(u.exposed_at + toIntervalMillisecond({window${i}:Int64}), fromUnixTimestamp64Milli({until:Int64}))`
    const y = `${valueOver(i, m.kind, 'u.exposed_at', end)} AS y${i}`
    const x = q.cupedPreDays
      ? `${valueOver(i, m.kind, 'u.exposed_at - toIntervalMillisecond({preMs:Int64})', 'u.exposed_at')} AS x${i}`
      : `toFloat64(0) AS x${i}`
    return [y, x]
  })
  return `
    SELECT u.unit AS unit, u.arm AS arm, ${cols.join(', ')}
    FROM (${EXPOSED_UNITS}) AS u
    INNER JOIN (
      SELECT user_key, event, timestamp AS ts, properties
      FROM events
      WHERE event IN {events:Array(String)} AND timestamp < fromUnixTimestamp64Milli({until:Int64})
    ) AS e ON e.user_key = u.unit
    GROUP BY u.unit, u.arm`
}

/**
 * Per arm: for each metric i, Σy, Σy², Σx, Σx², Σxy over active units (y capped at cap_i, a bound
 * value: the caller computes it with `capSql`; 'inf' = uncapped).
 */
export function metricSumsSql(q: ResultsQuery): string {
  const sums = q.metrics.flatMap((_, i) => {
    const y = `least(y${i}, {cap${i}:Float64})`
    return [
      `sum(${y}) AS s${i}`,
      `sum(${y} * ${y}) AS ss${i}`,
      `sum(x${i}) AS xs${i}`,
      `sum(x${i} * x${i}) AS xss${i}`,
      `sum(x${i} * ${y}) AS xy${i}`,
    ]
  })
  return `SELECT arm, ${sums.join(', ')} FROM (${activeUnitsSql(q)}) GROUP BY arm ORDER BY arm`
}

/**
 * Percentile caps over all exposed units (zeros included): the sorted values are the n − m zeros
 * of inactive units, then the m active ones, so the p-quantile over all n is the active units'
 * quantile at level (p·n − (n − m))/m — or 0 when it falls among the zeros. The levels come in as
 * bound values `level{i}` (computed by the caller from n and m).
 */
export function capSql(q: ResultsQuery, capped: number[]): string {
  const cols = capped.map((i) => `quantileExact({level${i}:Float64})(y${i}) AS cap${i}`)
  return `SELECT count() AS active, ${cols.join(', ')} FROM (${activeUnitsSql(q)})`
}

/**
 * One metric per day, cumulative, over active units: for each day end D, Σy and Σy² of units
 * exposed before D with the metric counted up to min(D, window end). n per day comes from
 * `exposureCountsSql`.
 */
export function dailySumsSql(q: ResultsQuery): string {
  const m = q.metrics[0]!
  const v = m.kind === 'sum' ? 'JSONExtractFloat(properties, {property0:String})' : '1'
  const inWindow = 't >= u.exposed_at AND t < least(d, u.exposed_at + toIntervalMillisecond({window0:Int64}))'
  const y =
    m.kind === 'conversion'
      ? `toFloat64(arrayExists((t) -> ${inWindow}, ts))`
      : `arraySum(arrayMap((t, val) -> if(${inWindow}, val, 0), ts, vs))`
  return `
    SELECT toString(toDate(d - toIntervalSecond(1))) AS day, arm, sum(y) AS sum, sum(y * y) AS sum_squares
    FROM (
      SELECT u.arm AS arm, d, ${y} AS y
      FROM (${EXPOSED_UNITS}) AS u
      INNER JOIN (
        SELECT user_key, groupArray(timestamp) AS ts, groupArray(toFloat64(${v})) AS vs
        FROM events
        WHERE event = {event0:String} AND timestamp < fromUnixTimestamp64Milli({until:Int64})
        GROUP BY user_key
      ) AS e ON e.user_key = u.unit
      ARRAY JOIN {days:Array(DateTime64(3, 'UTC'))} AS d
      WHERE u.exposed_at < d
    )
    GROUP BY day, arm
    ORDER BY day, arm`
}

export function queryParams(
  q: ResultsQuery,
  extra: { caps?: (number | undefined)[]; levels?: Record<number, number>; days?: number[] } = {},
): Record<string, unknown> {
  const p: Record<string, unknown> = {
    key: q.key,
    until: q.until,
    testUsers: q.testUsers,
    events: [...new Set(q.metrics.map((m) => m.event))],
    preMs: Math.round((q.cupedPreDays ?? 0) * 86_400_000),
  }
  q.metrics.forEach((m, i) => {
    p[`event${i}`] = m.event
    p[`property${i}`] = m.property ?? ''
    p[`window${i}`] = Math.round(m.windowDays * 86_400_000)
    p[`cap${i}`] = extra.caps?.[i] ?? 'inf' // no cap
  })
  for (const [i, level] of Object.entries(extra.levels ?? {})) p[`level${i}`] = level
  if (extra.days) p.days = extra.days.map((d) => new Date(d).toISOString().replace('T', ' ').replace('Z', ''))
  return p
}

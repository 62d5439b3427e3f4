import { Board } from './panels.js'
import { sql } from './queries.js'
import { exposedUnits, srmSql } from './sql.js'
import { experimentVariable, nudgeApiVariable } from './variables.js'

/**
 * Experiments: one experiment at a time (`experiment` variable). Units come from
 * `experiment_exposures` as the stats engine counts them (first exposure per unit, test accounts
 * left out); conversion is the experiment's primary metric event (from its stored definition)
 * within the metric's window after first exposure.
 *
 * What is not here: lift with its confidence interval, adjustment for multiple metrics, CUPED,
 * sequential bounds — Nudge's stats engine computes them (`GET /api/experiments/:key/results`),
 * linked from the panels. The SQL shows the raw per-variant picture those are computed from.
 */
const EXPERIMENT = `'\${experiment}'`
const DEFINITION = `ifNull((SELECT argMax(definition, version) FROM experiments WHERE key = ${EXPERIMENT}), '{}')`
/** The primary metric's event and window (ms) from the stored definition. */
const GOAL = `
  ${DEFINITION} AS def,
  JSONExtractString(def, 'primaryMetric', 'event') AS goal,
  toInt64(if(JSONHas(def, 'primaryMetric', 'windowDays'), JSONExtractFloat(def, 'primaryMetric', 'windowDays'), 7) * 86400000) AS window_ms`
const UNITS = exposedUnits(`experiment_key = ${EXPERIMENT} AND first_at <= $__toTime`)
/** Each exposed unit's goal event times, up to the end of the range. */
const GOAL_EVENTS = `SELECT user_key, groupArray(timestamp) AS ts FROM events WHERE event = goal AND timestamp <= $__toTime GROUP BY user_key`
const RESULTS_LINK = { title: 'Results with intervals (Nudge API)', url: '${nudge_api}/api/experiments/${experiment}/results' }

export function experimentsDashboard(): Board {
  const b = new Board({
    uid: 'nudge-experiments',
    title: 'Nudge · Experiments',
    description: 'Per-variant units, sample ratio mismatch, conversion over time; lift with intervals comes from the API',
    tags: ['experiments'],
    from: 'now-30d',
    refresh: '5m',
  })
  b.variable(experimentVariable()).variable(nudgeApiVariable())

  trafficRow(b)
  conversionRow(b)
  messagesRow(b)
  return b
}

function trafficRow(b: Board): void {
  b.row('Traffic')
  b.stat({
    title: 'Units',
    description: 'Units exposed up to the end of the range (first exposure; test accounts left out)',
    queries: [sql({ format: 'table', columns: ['units'], sql: `SELECT count() AS units FROM (${UNITS})` })],
  })
  b.stat({
    title: 'SRM p-value',
    description:
      "Sample ratio mismatch: Pearson's χ² of units per variant against the variants' weights. Two arms: p = erfc(√(χ²/2)), exact (χ² with 1 df is a squared normal); more arms: Wilson–Hilferty normal approximation. Red below 0.001, where Nudge flags the experiment.",
    decimals: 4,
    thresholds: { base: 'red', steps: [[0.001, 'green']] },
    links: [RESULTS_LINK],
    queries: [
      sql({
        format: 'table',
        columns: ['p_value'],
        sql: `SELECT p_value FROM (${srmSql({ experiments: `key = ${EXPERIMENT}`, exposures: `experiment_key = ${EXPERIMENT} AND first_at <= $__toTime` })})`,
      }),
    ],
  })
  b.table({
    title: 'Units per variant',
    description: "Observed units per variant against the share the variant's weight asks for",
    w: 12,
    h: 6,
    queries: [
      sql({
        format: 'table',
        columns: ['variant', 'units', 'share', 'expected_share'],
        sql: `
          WITH ${DEFINITION} AS def
          SELECT variant, count() AS units, round(units / sum(units) OVER (), 4) AS share,
                 JSONExtractFloat(arrayFirst(a -> JSONExtractString(a, 'key') = variant, JSONExtractArrayRaw(def, 'variants')), 'weight') AS expected_share
          FROM (${UNITS})
          GROUP BY variant
          ORDER BY variant`,
      }),
    ],
  })
  b.timeseries({
    title: 'New units per variant',
    description: 'First exposures over time, per variant',
    displayName: '${__field.labels.variant}',
    bars: true,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'variant', 'units'],
        sql: `
          SELECT $__timeInterval(exposed_at) AS time, variant, count() AS units
          FROM (${UNITS})
          WHERE $__timeFilter(exposed_at)
          GROUP BY time, variant
          ORDER BY time`,
      }),
    ],
  })
}

function conversionRow(b: Board): void {
  b.row('Conversion')
  conversionRateOverTime(b, {
    title: 'Conversion rate by exposure time',
    description:
      "Units first exposed in each interval, per variant: the share that did the primary metric's event within its window (counted up to the end of the range, so the latest cohorts are still filling in)",
    sql: `
          WITH ${GOAL}
          SELECT $__timeInterval(u.exposed_at) AS time, u.variant AS variant,
                 avg(arrayExists(t -> t >= u.exposed_at AND t < u.exposed_at + toIntervalMillisecond(window_ms), e.ts)) AS conversion_rate
          FROM (${UNITS}) AS u
          LEFT JOIN (${GOAL_EVENTS}) AS e ON e.user_key = u.unit
          WHERE $__timeFilter(u.exposed_at)
          GROUP BY time, variant
          ORDER BY time`,
  })
  conversionRateOverTime(b, {
    title: 'Cumulative conversion per variant (daily)',
    description:
      "At the end of each UTC day: of the units exposed by then, the share that converted (primary metric, within its window, by that day) — the series the stats engine's daily results are computed from. Lift with its confidence interval: the Nudge API, GET /api/experiments/${experiment}/results (link on this panel).",
    sql: `
          WITH ${GOAL},
            arrayMap(i -> toStartOfDay($__fromTime, 'UTC') + toIntervalDay(i + 1),
                     range(toUInt32(dateDiff('day', toStartOfDay($__fromTime, 'UTC'), $__toTime) + 1))) AS day_ends
          SELECT d AS time, u.variant AS variant,
                 avg(arrayExists(t -> t >= u.exposed_at AND t < least(d, u.exposed_at + toIntervalMillisecond(window_ms)), e.ts)) AS conversion_rate
          FROM (${UNITS}) AS u
          LEFT JOIN (${GOAL_EVENTS}) AS e ON e.user_key = u.unit
          ARRAY JOIN day_ends AS d
          WHERE u.exposed_at < d
          GROUP BY time, variant
          ORDER BY time`,
  })
}

function messagesRow(b: Board): void {
  b.row('Messages')
  b.table({
    title: 'Engagement per variant',
    description: 'Messages of this experiment sent in the range, and the share opened (people, not machines), clicked and unsubscribed',
    queries: [
      sql({
        format: 'table',
        columns: ['variant', 'sends', 'open_rate', 'click_rate', 'unsubscribe_rate'],
        sql: `
          SELECT variant, sum(s) AS sends,
                 round(sum(o) / nullIf(sends, 0), 4) AS open_rate,
                 round(sum(c) / nullIf(sends, 0), 4) AS click_rate,
                 round(sum(u) / nullIf(sends, 0), 4) AS unsubscribe_rate
          FROM (
            SELECT variant, uniqExact(message_id) AS s, 0 AS o, 0 AS c, 0 AS u
            FROM send_ledger
            WHERE $__timeFilter(at) AND experiment_key = ${EXPERIMENT} AND status = 'sent' AND is_test = 0
            GROUP BY variant
            UNION ALL
            SELECT variant, 0,
                   uniqExactIf(message_id, event = 'open' AND machine = 0),
                   uniqExactIf(message_id, event = 'click' AND machine = 0),
                   uniqExactIf(message_id, event = 'unsubscribe')
            FROM message_events
            WHERE $__timeFilter(at) AND experiment_key = ${EXPERIMENT} AND is_test = 0
            GROUP BY variant
          )
          GROUP BY variant
          ORDER BY variant`,
      }),
    ],
  })
}

/** Per-variant conversion rate series, linked to the API's results with their intervals. */
function conversionRateOverTime(b: Board, o: { title: string; description: string; sql: string }): void {
  b.timeseries({
    title: o.title,
    description: o.description,
    displayName: '${__field.labels.variant}',
    unit: 'percentunit',
    min: 0,
    links: [RESULTS_LINK],
    queries: [sql({ format: 'time_series', columns: ['time', 'variant', 'conversion_rate'], sql: o.sql })],
  })
}

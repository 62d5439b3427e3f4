import { INFORMATIONAL } from '../analytics/reports/falseTriggers.js'

/**
 * SQL shared by dashboards and alert rules. Everything here is plain ClickHouse SQL plus the
 * ClickHouse data source's macros; see `macros.ts` for what each macro becomes.
 */

/**
 * False-trigger findings that are Nudge's mistakes: not the informational classes (a test
 * account's run is reported, never counted in the rate or alerted on).
 */
export const COUNTED_FALSE_TRIGGER = `class NOT IN (${[...INFORMATIONAL].map((c) => `'${c}'`).join(', ')})`

/** The journeys picked in the `journey` variable (all of them: no condition). */
export function journeyFilter(column = 'journey_id'): string {
  return `$__conditionalAll(${column} IN (\${journey}), $journey)`
}

/** Seconds from one DateTime64 to another, with millisecond precision. */
export function secondsBetween(from: string, to: string): string {
  return `(toUnixTimestamp64Milli(${to}) - toUnixTimestamp64Milli(${from})) / 1000`
}

/** A latency distribution as the panels show it: p50, p90, p99 in seconds. */
export function latencyQuantiles(seconds: string): string {
  return `quantile(0.5)(${seconds}) AS p50, quantile(0.9)(${seconds}) AS p90, quantile(0.99)(${seconds}) AS p99`
}

/**
 * Exposed units as the stats engine counts them (experiments/results/metricSql.ts): one row per
 * unit, its first exposure's arm and time; every unit a test send went to is left out.
 */
export function exposedUnits(where: string): string {
  return `
    SELECT experiment_key, unit, argMin(variant, first_at) AS variant, min(first_at) AS exposed_at
    FROM experiment_exposures
    WHERE ${where}
      AND unit NOT IN (SELECT user_key FROM send_ledger WHERE is_test = 1)
    GROUP BY experiment_key, unit`
}

/**
 * Sample ratio mismatch per experiment, as `analytics/stats/srm.ts` defines it: Pearson's
 * χ² = Σ (o − e)²/e over the arms with weight > 0, e = w/Σw · Σo (Σo over the units of those
 * arms only: a zero-weight arm is left out, units and all), df = arms with weight > 0 − 1.
 *
 * The p-value, in SQL: for two arms (df = 1) χ² is the square of a standard normal, so
 * p = P(|Z| > √χ²) = erfc(√(χ²/2)) — the normal approximation is exact here. For more arms it
 * uses the Wilson–Hilferty approximation (χ²/df)^(1/3) ≈ N(1 − 2/(9df), 2/(9df)), good to about
 * two significant digits around p = 0.001; Nudge's API (`/api/experiments/:key/results`) has the
 * exact value.
 *
 * Columns: experiment, units, chi_square, df, p_value.
 */
export function srmSql(o: { experiments: string; exposures: string }): string {
  return `
    WITH
      arms AS (
        SELECT key AS experiment, JSONExtractString(arm, 'key') AS variant, JSONExtractFloat(arm, 'weight') AS weight,
               sum(weight) OVER (PARTITION BY key) AS total_weight
        FROM (
          SELECT key, argMax(definition, version) AS def
          FROM experiments
          GROUP BY key
          HAVING argMax(deleted, version) = 0 AND ${o.experiments}
        )
        ARRAY JOIN JSONExtractArrayRaw(def, 'variants') AS arm
      ),
      observed AS (
        SELECT experiment_key AS experiment, variant, count() AS units
        FROM (${exposedUnits(o.exposures)})
        GROUP BY experiment, variant
      ),
      -- Only the arms with weight > 0 are tested (analytics/stats/srm.ts): units in a zero-weight
      -- (or unknown) variant are not a shortfall of the others, so they stay out of the total.
      totals AS (
        SELECT o.experiment AS experiment, sum(o.units) AS n
        FROM observed AS o
        INNER JOIN arms AS w ON w.experiment = o.experiment AND w.variant = o.variant
        WHERE w.weight > 0
        GROUP BY o.experiment
      ),
      tests AS (
        SELECT a.experiment AS experiment, any(t.n) AS units,
               sumIf(pow(o.units - t.n * a.weight / a.total_weight, 2) / (t.n * a.weight / a.total_weight), a.weight > 0) AS chi_square,
               toUInt32(countIf(a.weight > 0) - 1) AS df
        FROM arms AS a
        INNER JOIN totals AS t ON t.experiment = a.experiment
        LEFT JOIN observed AS o ON o.experiment = a.experiment AND o.variant = a.variant
        GROUP BY a.experiment
      )
    SELECT experiment, units, chi_square, df,
           if(units = 0 OR df < 1, 1.0,
              if(df = 1, erfc(sqrt(chi_square / 2)),
                 0.5 * erfc(((pow(chi_square / df, 1 / 3) - (1 - 2 / (9 * df))) / sqrt(2 / (9 * df))) / sqrt(2)))) AS p_value
    FROM tests
    ORDER BY experiment`
}

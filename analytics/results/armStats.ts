import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import type { CovariateSums } from '../stats/cuped.js'
import { type ResultsQuery, capSql, dailySumsSql, exposureCountsSql, metricSumsSql, queryParams } from './metricSql.js'

/** An arm's sums as stored data gives them: what CUPED (and the plain tests) are computed from. */
export type ArmStats = CovariateSums

export interface StoredStats {
  /** Units per arm. */
  units: Map<string, number>
  /** First exposure (ms), if any. */
  firstExposure?: number
  /** Per metric (in the query's order): per arm. */
  metrics: Map<string, ArmStats>[]
  /** Per metric: the percentile cap applied, if any. */
  caps: (number | undefined)[]
}

const DAY = 86_400_000

/** Runs the results queries: exposure counts, percentile caps, then every metric's sums in one pass. */
export async function loadArmStats(
  client: ClickHouseClient,
  q: ResultsQuery,
): Promise<StoredStats & { exposedByDay: { arm: string; day: string; n: number }[] }> {
  const counts = await selectRows<{ arm: string; day: string; n: string; first_ms: string }>(client, exposureCountsSql(), queryParams(q))
  const units = new Map<string, number>()
  for (const c of counts) units.set(c.arm, (units.get(c.arm) ?? 0) + Number(c.n))
  const firstExposure = counts.length ? Math.min(...counts.map((c) => Number(c.first_ms))) : undefined
  const total = [...units.values()].reduce((a, b) => a + b, 0)

  const capped = q.metrics.flatMap((m, i) => (m.capPercentile !== undefined ? [i] : []))
  const caps: (number | undefined)[] = q.metrics.map(() => undefined)
  if (capped.length && total > 0) {
    // The levels need the number of active units: a first pass counts them (with level 0.5).
    const probe = await selectRows<{ active: string }>(
      client,
      capSql(q, capped),
      queryParams(q, { levels: Object.fromEntries(capped.map((i) => [i, 0.5])) }),
    )
    const active = Number(probe[0]?.active ?? 0)
    if (active > 0) {
      const levels: Record<number, number> = {}
      for (const i of capped) {
        const j = Math.floor(q.metrics[i]!.capPercentile! * total) - (total - active)
        levels[i] = j < 0 ? 0 : Math.min(1, (j + 0.5) / active)
      }
      const [row] = await selectRows<Record<string, number>>(client, capSql(q, capped), queryParams(q, { levels }))
      // A cap that falls among the inactive units' zeros would erase the metric: no cap then.
      for (const i of capped) if (levels[i]! > 0 && Number(row?.[`cap${i}`]) > 0) caps[i] = Number(row![`cap${i}`])
    }
  }

  const rows = total ? await selectRows<Record<string, string | number>>(client, metricSumsSql(q), queryParams(q, { caps })) : []
  const metrics = q.metrics.map((_, i) => {
    const out = new Map<string, ArmStats>()
    for (const [arm, n] of units) {
      const r = rows.find((x) => x.arm === arm)
      out.set(arm, {
        n,
        sum: Number(r?.[`s${i}`] ?? 0),
        sumSquares: Number(r?.[`ss${i}`] ?? 0),
        covariateSum: Number(r?.[`xs${i}`] ?? 0),
        covariateSumSquares: Number(r?.[`xss${i}`] ?? 0),
        sumProductCovariate: Number(r?.[`xy${i}`] ?? 0),
      })
    }
    return out
  })
  return { units, firstExposure, metrics, caps, exposedByDay: counts.map((c) => ({ arm: c.arm, day: c.day, n: Number(c.n) })) }
}

/**
 * The first metric per day, cumulative: for each day end (UTC midnights after `from`, and `until`)
 * the units exposed before it and their metric counted up to it. At most `maxDays` points.
 */
export async function loadDaily(
  client: ClickHouseClient,
  q: ResultsQuery,
  from: number,
  exposedByDay: { arm: string; day: string; n: number }[],
  maxDays = 60,
) {
  const days: number[] = []
  for (let d = Math.floor(from / DAY) * DAY + DAY; d < q.until && days.length < maxDays - 1; d += DAY) days.push(d)
  days.push(q.until)
  const rows = await selectRows<{ day: string; arm: string; sum: number; sum_squares: number }>(
    client,
    dailySumsSql({ ...q, cupedPreDays: undefined }),
    queryParams({ ...q, cupedPreDays: undefined }, { days }),
  )
  return days.map((end) => {
    const day = new Date(end - 1000).toISOString().slice(0, 10)
    const stats = new Map<string, ArmStats>()
    const arms = new Set(exposedByDay.map((e) => e.arm))
    for (const arm of arms) {
      // Exposed before this day's end: every earlier exposure day, and this one when it is `until`.
      const n = exposedByDay.filter((e) => e.arm === arm && Date.parse(`${e.day}T00:00:00Z`) < end).reduce((a, e) => a + e.n, 0)
      const r = rows.find((x) => x.day === day && x.arm === arm)
      stats.set(arm, {
        n,
        sum: Number(r?.sum ?? 0),
        sumSquares: Number(r?.sum_squares ?? 0),
        covariateSum: 0,
        covariateSumSquares: 0,
        sumProductCovariate: 0,
      })
    }
    return { day, stats }
  })
}

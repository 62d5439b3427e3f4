import { adjustPValues, adjustedInterval } from '../stats/adjust.js'
import type { AnalyzeResponse } from '../stats/analyzeSchema.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import type { MetricVerdict } from './decide.js'

export interface MetricResult {
  role: MetricVerdict['role']
  metric: Metric
  /** The percentile cap applied to the metric, if any. */
  cap: number | undefined
  result: AnalyzeResponse | undefined
}

/** Holm over goal metrics × arms (guardrails are one-sided checks on their own): adjusted p by `metric:comparison`. */
function holmAdjusted(results: MetricResult[]): Map<string, number> {
  const goal = results.flatMap((r, mi) =>
    r.role !== 'guardrail' && r.result ? r.result.comparisons.map((c, ci) => ({ mi, ci, p: c.pValue })) : [],
  )
  const withP = goal.filter((g): g is typeof g & { p: number } => typeof g.p === 'number')
  const adjusted =
    withP.length > 1
      ? adjustPValues(
          withP.map((g) => g.p),
          'holm',
        )
      : withP.map((g) => g.p)
  return new Map(withP.map((g, i) => [`${g.mi}:${g.ci}`, adjusted[i]!]))
}

/**
 * Each metric's comparisons with their adjusted p-value and interval, significance and direction;
 * and the verdicts (better / worse per metric and arm) the decision hint is made from.
 */
export function compareMetrics(results: MetricResult[], alpha: number) {
  const adjustedOf = holmAdjusted(results)
  const verdicts: MetricVerdict[] = []
  const metrics = results.map((r, mi) => {
    const comparisons = (r.result?.comparisons ?? []).map((c, ci) => {
      const adj = adjustedOf.get(`${mi}:${ci}`)
      const significant = typeof c.pValue === 'number' ? (adj ?? c.pValue) < alpha : undefined
      const up = c.effect !== null && c.effect !== undefined && c.effect > 0
      const better = significant !== undefined ? significant && up !== r.metric.inverse : (c.chanceToWin ?? 0) > 0.95
      const worse =
        significant !== undefined ? significant && up === r.metric.inverse : typeof c.chanceToWin === 'number' && c.chanceToWin < 0.05
      verdicts.push({ role: r.role, name: r.metric.name ?? r.metric.event, arm: c.arm, better: !!better, worse: !!worse })
      // The interval that matches the adjusted p-value (it excludes 0 exactly when that is below α).
      const adjustedCi =
        adj !== undefined && typeof c.effect === 'number' && c.ci && typeof c.ci[0] === 'number' && typeof c.ci[1] === 'number'
          ? adjustedInterval({ estimate: c.effect, ci: [c.ci[0], c.ci[1]], adjustedPValue: adj, alpha })
          : undefined
      return {
        ...c,
        ...(adj !== undefined ? { adjustedPValue: adj } : {}),
        ...(adjustedCi ? { adjustedCi: [adjustedCi.lower, adjustedCi.upper] } : {}),
        significant: !!(better || worse),
        direction: better ? 'better' : worse ? 'worse' : 'flat',
      }
    })
    return {
      role: r.role,
      metric: r.metric,
      ...(r.cap !== undefined ? { cappedAt: r.cap } : {}),
      arms: r.result?.arms ?? [],
      comparisons,
    }
  })
  return { metrics, verdicts }
}

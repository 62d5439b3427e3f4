import type { AnalyzeRequest } from '../stats/analyzeSchema.js'
import type { ExperimentService } from '../../experiments/experimentService.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import type { MetricVerdict } from './decide.js'
import type { ArmStats } from './armStats.js'

/** An experiment definition's stats settings (engine, α, CUPED, sequential, prior). */
export type StatsSettings = ReturnType<ExperimentService['get']>['definition']['stats']

/** The stats engine's request for one metric over the given arms, from the stored per-arm sums. */
export function analyzeRequest(
  metric: Metric,
  role: MetricVerdict['role'],
  s: StatsSettings,
  arms: string[],
  stats: Map<string, ArmStats>,
): AnalyzeRequest {
  const cuped = s.cuped.enabled
  return {
    metric: { type: metric.kind === 'conversion' ? 'binomial' : 'mean', inverse: metric.inverse },
    engine: role === 'guardrail' ? 'frequentist' : s.engine,
    differenceType: 'relative',
    alpha: s.alpha,
    // A guardrail asks one thing: is the arm worse? (lower for normal metrics, higher for inverse ones)
    alternative: role === 'guardrail' ? (metric.inverse ? 'greater' : 'less') : 'two-sided',
    ...(s.sequential.enabled ? { sequential: { tuning: s.sequential.tuning } } : {}),
    ...(s.prior && s.engine === 'bayesian' ? { prior: s.prior } : {}),
    cuped,
    arms: arms.map((name) => {
      const a = stats.get(name) ?? { n: 0, sum: 0, sumSquares: 0, covariateSum: 0, covariateSumSquares: 0, sumProductCovariate: 0 }
      return {
        name,
        n: a.n,
        sum: a.sum,
        sumSquares: a.sumSquares,
        ...(cuped
          ? { covariateSum: a.covariateSum, covariateSumSquares: a.covariateSumSquares, sumProductCovariate: a.sumProductCovariate }
          : {}),
      }
    }),
  } as AnalyzeRequest
}

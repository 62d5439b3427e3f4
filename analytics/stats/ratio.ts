import { type ArmStat, ratioVariance, sampleCovariance, sampleMean, sampleVariance } from './moments.js'

/**
 * Ratio metrics (revenue per send, clicks per open): μ = ΣM/ΣD over an arm's units, with the
 * per-unit delta-method variance σM²/μD² + σD²μM²/μD⁴ − 2σMD μM/μD³ (docs/stats.md "Ratio metrics";
 * gbstats RatioStatistic). The lift formulas then apply to it unchanged.
 */
export interface RatioAggregates {
  n: number
  /** Σ of the numerator. */
  sum: number
  sumSquares: number
  denominatorSum: number
  denominatorSumSquares: number
  /** Σ numerator·denominator. */
  sumProductDenominator: number
}

/** The ratio as an arm statistic; null when the denominator sums to 0 (no ratio to speak of). */
export function ratioArmStat(a: RatioAggregates): ArmStat | null {
  if (a.denominatorSum === 0) return null
  const meanM = sampleMean(a.n, a.sum)
  const meanD = sampleMean(a.n, a.denominatorSum)
  const variance = ratioVariance(
    meanM,
    sampleVariance(a.n, a.sum, a.sumSquares),
    meanD,
    sampleVariance(a.n, a.denominatorSum, a.denominatorSumSquares),
    sampleCovariance(a.n, a.sum, a.denominatorSum, a.sumProductDenominator),
  )
  const mean = a.sum / a.denominatorSum
  // Var(M − R·D)/μD² ≥ 0; below 0 only by cancellation.
  return { n: a.n, mean, unadjustedMean: mean, variance: variance > 0 ? variance : 0 }
}

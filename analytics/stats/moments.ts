/**
 * Per-unit moments from sufficient statistics, and the moments of the effect between two arms
 * (STATS.md "Moments" and "Frequentist"). Every metric type uses the n − 1 divisor, proportions
 * included (STATS.md: "proportions use the same formulas with y ∈ {0,1}"); gbstats' proportion
 * statistic uses p(1 − p) instead, a factor (n − 1)/n apart.
 */

export function sampleMean(n: number, sum: number): number {
  return sum / n
}

/**
 * (Σy² − (Σy)²/n)/(n − 1). Validation rejects sums implying a clearly negative variance; what is
 * left below 0 here is floating-point cancellation, so it is clamped to 0.
 */
export function sampleVariance(n: number, sum: number, sumSquares: number): number {
  const v = (sumSquares - (sum * sum) / n) / (n - 1)
  return v > 0 ? v : 0
}

/** (Σab − ΣaΣb/n)/(n − 1). */
export function sampleCovariance(n: number, sumA: number, sumB: number, sumProducts: number): number {
  return (sumProducts - (sumA * sumB) / n) / (n - 1)
}

/**
 * Delta-method variance of M/D from the moments of M and D:
 * σM²/μD² + σD²μM²/μD⁴ − 2σMD μM/μD³ (STATS.md "Ratio metrics"; also the relative lift's).
 */
export function ratioVariance(meanM: number, varM: number, meanD: number, varD: number, covMD: number): number {
  const d2 = meanD * meanD
  return varM / d2 + (varD * meanM * meanM) / (d2 * d2) - (2 * covMD * meanM) / (d2 * meanD)
}

/** What a test needs of one arm: n, its (possibly adjusted) mean and per-unit variance. */
export interface ArmStat {
  n: number
  /** The mean the effect is taken on (CUPED: adjusted). */
  mean: number
  /** The mean a relative effect divides by (CUPED: unadjusted). */
  unadjustedMean: number
  /** Per-unit variance of what `mean` averages (CUPED: of y − θx; ratio: delta method). */
  variance: number
}

/** The effect between control A and treatment B, with what the frequentist and Bayesian tests need. */
export interface EffectMoments {
  estimate: number
  /** Variance of `estimate` (not per unit). */
  variance: number
  /** Per-unit variances and sizes, for Welch–Satterthwaite. */
  varA: number
  nA: number
  varB: number
  nB: number
  /** Unadjusted control mean: relative effects and relative priors scale by it. */
  controlMean: number
}

/** Δ = μB − μA, Var = σB²/nB + σA²/nA. */
export function absoluteEffect(a: ArmStat, b: ArmStat): EffectMoments {
  return { estimate: b.mean - a.mean, variance: b.variance / b.n + a.variance / a.n, varA: a.variance, nA: a.n, varB: b.variance, nB: b.n, controlMean: a.unadjustedMean }
}

/**
 * Δr = (μB − μA)/|μA| with the delta-method variance σB²/(μA² nB) + σA² μB²/(μA⁴ nA): the ratio
 * variance of μB/μA with independent arms. Caller makes sure μA ≠ 0.
 */
export function relativeEffect(a: ArmStat, b: ArmStat): EffectMoments {
  return {
    estimate: (b.mean - a.mean) / Math.abs(a.unadjustedMean),
    variance: ratioVariance(b.mean, b.variance / b.n, a.mean, a.variance / a.n, 0),
    varA: a.variance,
    nA: a.n,
    varB: b.variance,
    nB: b.n,
    controlMean: a.unadjustedMean,
  }
}

/**
 * Per-unit moments from sufficient statistics, and the moments of the effect between two arms
 * (docs/stats.md "Moments" and "Frequentist").
 *
 * Which variance a metric gets is decided here and only here, by whether it is binomial (the
 * metric type `binomial` of an analyze request; a `conversion` metric of an experiment): means
 * and ratio parts use the sample form with n − 1; binomial metrics the population form p(1 − p),
 * and their covariances (CUPED's metric × covariate, the covariate being the same 0/1 metric
 * before exposure) Σab/n − āb̄, as gbstats' ProportionStatistic and compute_covariance do.
 * Everything downstream — Welch, its degrees of freedom, the relative delta method, Bayesian,
 * sequential, CUPED's θ and adjusted variance — takes the variance from `unitVariance` and
 * `unitCovariance`.
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
 * p(1 − p) with p = Σy/n: the variance of a 0/1 metric (docs/stats.md: the population form, as
 * gbstats). Σy² is not needed: for y ∈ {0,1} it equals Σy (validation enforces that).
 */
export function binomialVariance(n: number, sum: number): number {
  const p = sum / n
  const v = p * (1 - p)
  return v > 0 ? v : 0
}

/** Population variance of any per-unit variable: Σa²/n − ā² (a binomial CUPED covariate). */
export function populationVariance(n: number, sum: number, sumSquares: number): number {
  const v = (sumSquares - (sum * sum) / n) / n
  return v > 0 ? v : 0
}

/** Population covariance Σab/n − āb̄ (binomial metrics). */
export function populationCovariance(n: number, sumA: number, sumB: number, sumProducts: number): number {
  return (sumProducts - (sumA * sumB) / n) / n
}

/** The per-unit variance of a metric's values: p(1 − p) when it is binomial, else the n − 1 form. */
export function unitVariance(n: number, sum: number, sumSquares: number, binomial: boolean): number {
  return binomial ? binomialVariance(n, sum) : sampleVariance(n, sum, sumSquares)
}

/**
 * The per-unit variance of a covariate (or any second variable) of a metric: for a binomial metric
 * the population form (p(1 − p) for the 0/1 pre-period conversion), else n − 1.
 */
export function unitCovariateVariance(n: number, sum: number, sumSquares: number, binomial: boolean): number {
  return binomial ? populationVariance(n, sum, sumSquares) : sampleVariance(n, sum, sumSquares)
}

/** The per-unit covariance of a metric with its covariate, in the same form as their variances. */
export function unitCovariance(n: number, sumA: number, sumB: number, sumProducts: number, binomial: boolean): number {
  return binomial ? populationCovariance(n, sumA, sumB, sumProducts) : sampleCovariance(n, sumA, sumB, sumProducts)
}

/**
 * Delta-method variance of M/D from the moments of M and D:
 * σM²/μD² + σD²μM²/μD⁴ − 2σMD μM/μD³ (docs/stats.md "Ratio metrics"; also the relative lift's).
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
  return {
    estimate: b.mean - a.mean,
    variance: b.variance / b.n + a.variance / a.n,
    varA: a.variance,
    nA: a.n,
    varB: b.variance,
    nB: b.n,
    controlMean: a.unadjustedMean,
  }
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

import type { ArmStat } from './moments.js'
import { sampleCovariance, sampleMean, sampleVariance, unitCovariance, unitCovariateVariance, unitVariance } from './moments.js'
import type { RatioAggregates } from './ratio.js'

/**
 * CUPED (regression adjustment on a pre-exposure covariate), docs/stats.md "CUPED", with gbstats'
 * RegressionAdjustedStatistic / RegressionAdjustedRatioStatistic as the peer:
 * - θ is pooled over the two arms of a comparison (so it differs per treatment arm);
 * - an arm's adjusted mean is ȳ − θx̄, its per-unit variance σY² + θ²σX² − 2θσXY;
 * - a relative lift divides by the *unadjusted* control mean;
 * - θ = 0 (a covariate without variance) falls back to the unadjusted test;
 * - a binomial metric (its covariate is the same 0/1 metric before exposure) takes every variance
 *   and covariance in the population form, p(1 − p) and Σxy/n − x̄ȳ, θ included (moments.ts).
 */

/** One arm's sufficient statistics of a metric Y and its pre-exposure covariate X. */
export interface CovariateSums {
  n: number
  sum: number
  sumSquares: number
  covariateSum: number
  covariateSumSquares: number
  sumProductCovariate: number
}

export interface CupedAggregates extends CovariateSums {
  /** A binomial metric: population moments (see moments.ts). */
  binomial: boolean
}

export interface CupedArm extends ArmStat {
  varY: number
  varX: number
  covXY: number
}

/**
 * θ = cov(Y, X)/var(X) over the units of both arms together (their sums added), as gbstats'
 * compute_theta; 0 when either the metric or the covariate has no variance there.
 */
export function pooledTheta(a: CupedAggregates, b: CupedAggregates): number {
  const n = a.n + b.n
  const binomial = a.binomial
  const varX = unitCovariateVariance(n, a.covariateSum + b.covariateSum, a.covariateSumSquares + b.covariateSumSquares, binomial)
  const varY = unitVariance(n, a.sum + b.sum, a.sumSquares + b.sumSquares, binomial)
  if (varX === 0 || varY === 0) return 0
  return unitCovariance(n, a.sum + b.sum, a.covariateSum + b.covariateSum, a.sumProductCovariate + b.sumProductCovariate, binomial) / varX
}

export function cupedArmStat(a: CupedAggregates, theta: number): CupedArm {
  const varY = unitVariance(a.n, a.sum, a.sumSquares, a.binomial)
  const varX = unitCovariateVariance(a.n, a.covariateSum, a.covariateSumSquares, a.binomial)
  const covXY = unitCovariance(a.n, a.sum, a.covariateSum, a.sumProductCovariate, a.binomial)
  const meanY = sampleMean(a.n, a.sum)
  const variance = varY + theta * theta * varX - 2 * theta * covXY // Var(Y − θX) ≥ 0 up to rounding
  return {
    n: a.n,
    mean: meanY - theta * sampleMean(a.n, a.covariateSum),
    unadjustedMean: meanY,
    variance: variance > 0 ? variance : 0,
    varY,
    varX,
    covXY,
  }
}

/**
 * Delta-method variance of (adjB − adjA)/|ȳA|, as gbstats computes it: the treatment term is
 * adjusted-variance/(nB ȳA²); the control term is the variance of k·ȳA − (θ/ȳA)·x̄A with
 * k = ȳB/ȳA² — gbstats takes the treatment's unadjusted mean there, asymptotically the same as
 * the exact gradient (which has ȳB − θ(x̄B − x̄A)) since randomisation balances x̄. With θ = 0 this is
 * the unadjusted relative variance.
 */
export function cupedRelativeVariance(a: CupedArm, b: CupedArm, theta: number): number {
  const mA = a.unadjustedMean
  const k = b.unadjustedMean / (mA * mA)
  const t = theta / mA
  const vCtrl = k * k * a.varY + t * t * a.varX - 2 * k * t * a.covXY
  return b.variance / (b.n * mA * mA) + vCtrl / a.n
}

// ── Ratio + CUPED: the 4×4 delta method over (M, D, X, E) = post numerator, post denominator,
//    pre numerator, pre denominator (gbstats RegressionAdjustedRatioStatistic). ──

export interface RatioCupedAggregates extends RatioAggregates {
  covariateSum: number
  covariateSumSquares: number
  covariateDenominatorSum: number
  covariateDenominatorSumSquares: number
  sumProductCovariate: number
  sumProductCovariateDenominator: number
  sumProductDenominatorCovariate: number
  sumProductDenominatorCovariateDenominator: number
  sumProductCovariates: number
}

/** One arm's ratio moments: R = M̄/D̄ after, P = X̄/Ē before, and the per-unit (co)variances of R and P. */
export interface RatioCupedArm {
  n: number
  meanM: number
  meanD: number
  ratioPost: number
  ratioPre: number
  /** Per-unit delta-method variance of the post ratio, of the pre ratio, and their covariance. */
  varPost: number
  varPre: number
  covPrePost: number
}

/**
 * Gradients g = (1/D̄, −M̄/D̄²) of each ratio, contracted with the 4×4 covariance blocks.
 * Null when a denominator sums to 0.
 */
export function ratioCupedArm(a: RatioCupedAggregates): RatioCupedArm | null {
  if (a.denominatorSum === 0 || a.covariateDenominatorSum === 0) return null
  const n = a.n
  const m = sampleMean(n, a.sum)
  const d = sampleMean(n, a.denominatorSum)
  const x = sampleMean(n, a.covariateSum)
  const e = sampleMean(n, a.covariateDenominatorSum)
  const vMM = sampleVariance(n, a.sum, a.sumSquares)
  const vDD = sampleVariance(n, a.denominatorSum, a.denominatorSumSquares)
  const vXX = sampleVariance(n, a.covariateSum, a.covariateSumSquares)
  const vEE = sampleVariance(n, a.covariateDenominatorSum, a.covariateDenominatorSumSquares)
  const cMD = sampleCovariance(n, a.sum, a.denominatorSum, a.sumProductDenominator)
  const cMX = sampleCovariance(n, a.sum, a.covariateSum, a.sumProductCovariate)
  const cME = sampleCovariance(n, a.sum, a.covariateDenominatorSum, a.sumProductCovariateDenominator)
  const cDX = sampleCovariance(n, a.denominatorSum, a.covariateSum, a.sumProductDenominatorCovariate)
  const cDE = sampleCovariance(n, a.denominatorSum, a.covariateDenominatorSum, a.sumProductDenominatorCovariateDenominator)
  const cXE = sampleCovariance(n, a.covariateSum, a.covariateDenominatorSum, a.sumProductCovariates)
  const p0 = 1 / d
  const p1 = -m / (d * d)
  const q0 = 1 / e
  const q1 = -x / (e * e)
  return {
    n,
    meanM: m,
    meanD: d,
    ratioPost: a.sum / a.denominatorSum,
    ratioPre: a.covariateSum / a.covariateDenominatorSum,
    varPost: p0 * p0 * vMM + 2 * p0 * p1 * cMD + p1 * p1 * vDD,
    varPre: q0 * q0 * vXX + 2 * q0 * q1 * cXE + q1 * q1 * vEE,
    // (q0, q1) · [[cov(X,M), cov(X,D)], [cov(E,M), cov(E,D)]] · (p0, p1)
    covPrePost: q0 * (cMX * p0 + cDX * p1) + q1 * (cME * p0 + cDE * p1),
  }
}

/**
 * θ = Σarms cov(R, P) / Σarms var(P), per-unit moments summed over the two arms unweighted, as
 * gbstats' compute_theta_regression_adjusted_ratio; |θ| < 1e-8 counts as 0 (no adjustment).
 */
export function ratioCupedTheta(a: RatioCupedArm, b: RatioCupedArm): number {
  const varPre = a.varPre + b.varPre
  if (varPre === 0) return 0
  const theta = (a.covPrePost + b.covPrePost) / varPre
  return Math.abs(theta) < 1e-8 ? 0 : theta
}

/** Adjusted mean R − θP and per-unit variance var(R) + θ²var(P) − 2θcov(R, P). */
export function ratioCupedArmStat(a: RatioCupedArm, theta: number): ArmStat {
  const variance = a.varPost + theta * theta * a.varPre - 2 * theta * a.covPrePost
  return { n: a.n, mean: a.ratioPost - theta * a.ratioPre, unadjustedMean: a.ratioPost, variance: variance > 0 ? variance : 0 }
}

/**
 * Delta-method variance of (adjB − adjA)/|R_A| (exact gradient, as gbstats). For the control the
 * gradient is −k·g_post + (θ/|R_A|)·g_pre with k = (|R_A| + s(adjB − adjA))/R_A², s = sign(R_A);
 * for the treatment it is (g_post − θ g_pre)/|R_A|.
 */
export function ratioCupedRelativeVariance(a: RatioCupedArm, b: RatioCupedArm, theta: number): number {
  const adjA = ratioCupedArmStat(a, theta)
  const adjB = ratioCupedArmStat(b, theta)
  const den = Math.abs(a.ratioPost)
  const k = (den + Math.sign(a.ratioPost) * (adjB.mean - adjA.mean)) / (den * den)
  const t = theta / den
  const vCtrl = k * k * a.varPost + t * t * a.varPre - 2 * k * t * a.covPrePost
  return vCtrl / a.n + adjB.variance / (den * den * b.n)
}

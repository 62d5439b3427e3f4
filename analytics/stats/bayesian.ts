import { dnorm, pnorm, qnorm } from './distributions.js'
import type { EffectMoments } from './moments.js'

/**
 * Bayesian test on the lift (docs/stats.md "Bayesian"; gbstats EffectBayesianABTest): the effect
 * estimate is treated as Gaussian, N(Δ, SE²), combined with a Gaussian prior N(m0, v0) —
 * flat (no prior) by default.
 */

export interface GaussianPrior {
  mean: number
  variance: number
}

export interface BayesianResult {
  /** Posterior mean and standard deviation of the effect. */
  mean: number
  sd: number
  ci: [number, number]
  chanceToWin: number
  /** Expected loss [choosing control, choosing treatment]. */
  risk: [number, number]
}

/** Posterior precision 1/SE² + 1/v0 and mean (Δ/SE² + m0/v0)/precision; the data alone when flat. */
export function posterior(m: EffectMoments, prior: GaussianPrior | null): { mean: number; sd: number } {
  if (!prior) return { mean: m.estimate, sd: Math.sqrt(m.variance) }
  const precision = 1 / m.variance + 1 / prior.variance
  return { mean: (m.estimate / m.variance + prior.mean / prior.variance) / precision, sd: Math.sqrt(1 / precision) }
}

/**
 * A prior given on one scale, moved to the effect's: a relative prior for an absolute effect is
 * scaled by |μC| (mean) and μC² (variance), as gbstats does; an absolute prior for a relative
 * effect the other way. Caller makes sure μC ≠ 0 when scaling.
 */
export function scalePrior(
  prior: GaussianPrior,
  priorScale: 'relative' | 'absolute',
  differenceType: 'relative' | 'absolute',
  controlMean: number,
): GaussianPrior {
  if (priorScale === differenceType) return prior
  const c = Math.abs(controlMean)
  return differenceType === 'absolute'
    ? { mean: prior.mean * c, variance: prior.variance * c * c }
    : { mean: prior.mean / c, variance: prior.variance / (c * c) }
}

/**
 * Expected loss by truncated-normal means, in closed form: with z = μ/σ,
 * risk_control = P(Δ>0)·E[Δ|Δ>0] = E[max(Δ, 0)] = μΦ(z) + σφ(z),
 * risk_treatment = −P(Δ<0)·E[Δ|Δ<0] = E[max(−Δ, 0)] = −μΦ(−z) + σφ(z).
 */
export function risk(mean: number, sd: number): [number, number] {
  const z = mean / sd
  const density = sd * dnorm(z)
  // Clamp: for |z| ≳ 8 the two terms cancel to a few ulps, possibly below 0.
  return [Math.max(0, mean * pnorm(z) + density), Math.max(0, -mean * pnorm(-z) + density)]
}

/**
 * Chance to win P(Δ > 0) = Φ(μ/σ) (inverse metrics: P(Δ < 0)), credible interval from normal
 * quantiles at α/2 and 1 − α/2, risk swapped for inverse metrics (lower is better: choosing the
 * control loses when the treatment is lower). Requires m.variance > 0.
 */
export function bayesianTest(m: EffectMoments, alpha: number, prior: GaussianPrior | null, inverse: boolean): BayesianResult {
  const { mean, sd } = posterior(m, prior)
  const half = qnorm(1 - alpha / 2) * sd
  const z = mean / sd
  const [lossControl, lossTreatment] = risk(mean, sd)
  return {
    mean,
    sd,
    ci: [mean - half, mean + half],
    chanceToWin: inverse ? pnorm(-z) : pnorm(z),
    risk: inverse ? [lossTreatment, lossControl] : [lossControl, lossTreatment],
  }
}

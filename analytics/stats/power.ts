import { dnorm, pnorm, pnormUpper, qnorm } from './distributions.js'
import { type PowerMetric, type PowerRequest, type PowerResponse, powerRequest } from './toolsSchema.js'

/**
 * Power and minimum detectable effect of a frequentist test on the relative lift, before an
 * experiment runs: "with this many units, how likely are we to see a lift of x?" and "what lift
 * would we see 80 % of the time?". Definitions: STATS.md, as GrowthBook's TS power code
 * (packages/shared/src/power).
 *
 * - SE of the relative lift by the delta method at μT = μC(1 + Δ), both arms with the control's
 *   variance (σ² or p(1 − p)) and n = totalUnits/arms units:
 *   SE² = σ²/(μC² n) + σ² μT²/(μC⁴ n) = σ²/(n μC²) · (1 + (1 + Δ)²).
 * - Power = 1 − Φ(z(1−α/2) − Δ/SE) + Φ(−z(1−α/2) − Δ/SE).
 * - More than two arms: each variant is compared with control at alpha itself — no Bonferroni
 *   split of alpha (GrowthBook's convention; multiple-testing correction, when chosen, is applied
 *   to the results, not the plan). The arms only thin the units: n = totalUnits/arms.
 * - Sequential: the confidence sequence is wider than the fixed interval by zSeq/z(1−α/2), with
 *   zSeq the sequential half-width in SEs at N = 2n (the two arms compared; STATS.md); the variance
 *   is inflated by the square of that ratio. The factor does not depend on the lift.
 * - MDE: Δ/SE(Δ) rises monotonically towards √n·|μC|/σ as Δ → ∞ (d/dΔ of Δ²/(1+(1+Δ)²) is
 *   2Δ(2+Δ)/(…)² > 0), so the MDE is the Δ > 0 whose standardised effect s* solves
 *   power(s*) = targetPower. s* comes from Newton's method on the two-sided power (GrowthBook
 *   uses z(1−α/2) + z(power) instead, dropping the far tail Φ(−z − s): that is ~1e-6 of power at
 *   80 %, but 4e-5 at 50 %, and the MDE should give its power back exactly). Then Δ = s*·SE(Δ) is
 *   the quadratic (1 − k)Δ² − 2kΔ − 2k = 0 with k = s*² σ²/(n μC²), whose positive root is
 *   Δ = (k + √(k(2 − k)))/(1 − k). k ≥ 1 means no lift is large enough: mde null.
 * - A binomial MDE that would take the conversion rate above 1 is not attainable either (GrowthBook
 *   reports it anyway).
 * - A negative mean (allowed: net revenue after refunds) keeps μT = μC(1 + Δ), as GrowthBook does;
 *   only μC² enters, so power and MDE are those of |μC|. In STATS.md's lift (μT − μC)/|μC| that
 *   effect reads as −Δ.
 */

const Z = (alpha: number) => qnorm(1 - alpha / 2)

function moments(metric: PowerMetric): { mean: number; variance: number } {
  return metric.type === 'mean'
    ? { mean: metric.mean, variance: metric.standardDeviation ** 2 }
    : { mean: metric.conversionRate, variance: metric.conversionRate * (1 - metric.conversionRate) }
}

/**
 * zSeq / z(1−α/2): how much wider the always-valid interval is than the fixed one, at N units in
 * the two arms compared and tuning N*.
 */
export function sequentialFactor(alpha: number, n: number, tuning: number): number {
  const rho2 = (-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuning
  const nr = n * rho2
  const zSeq = Math.sqrt(((2 * (nr + 1)) / nr) * Math.log(Math.sqrt(nr + 1) / alpha))
  return zSeq / Z(alpha)
}

/** Two-sided power at a standardised effect s = Δ/SE. */
export function powerAt(s: number, alpha: number): number {
  const z = Z(alpha)
  return pnormUpper(z - s) + pnorm(-z - s)
}

/** The s ≥ 0 with powerAt(s) = target (target in (alpha, 1)). */
export function standardizedEffectFor(target: number, alpha: number): number {
  const z = Z(alpha)
  // GrowthBook's one-tail value: powerAt(hi) = target + Φ(−z − hi) ≥ target, so the root is in [0, hi].
  let lo = 0
  let hi = z + qnorm(target)
  let s = hi
  for (let i = 0; i < 200; i++) {
    const f = powerAt(s, alpha) - target
    if (f === 0) return s
    if (f > 0) hi = s
    else lo = s
    const slope = dnorm(z - s) - dnorm(z + s)
    let next = s - f / slope
    // Safeguard: Newton can overshoot where the slope vanishes (near s = 0); bisect instead.
    if (!(next > lo && next < hi)) next = (lo + hi) / 2
    if (Math.abs(next - s) <= 1e-15 * Math.max(1, s)) return next
    s = next
  }
  return s
}

export function power(req: PowerRequest): PowerResponse {
  const r = powerRequest.parse(req)
  const { mean, variance } = moments(r.metric)
  const perArm = r.totalUnits / r.arms
  const inflation = r.sequential ? sequentialFactor(r.alpha, 2 * perArm, r.sequential.tuning) ** 2 : 1
  // σ²/(n μC²): the relative variance of one arm's mean; SE² = base · (1 + (1 + Δ)²).
  const base = (variance * inflation) / (perArm * mean * mean)

  const se = Math.sqrt(base * (1 + (1 + r.effect) ** 2))
  const powerValue = powerAt(r.effect / se, r.alpha)

  const s = standardizedEffectFor(r.targetPower, r.alpha)
  const k = s * s * base
  if (!(k < 1))
    return {
      power: powerValue,
      mde: null,
      mdeAttainable: false,
      mdeReason: `no lift reaches power ${r.targetPower} with ${+perArm.toPrecision(6)} units per arm (even an unbounded lift leaves Δ/SE below ${+s.toPrecision(6)}); add units or use fewer arms`,
    }
  const mde = (k + Math.sqrt(k * (2 - k))) / (1 - k)
  if (r.metric.type === 'binomial' && r.metric.conversionRate * (1 + mde) > 1)
    return {
      power: powerValue,
      mde: null,
      mdeAttainable: false,
      mdeReason: `the lift that reaches power ${r.targetPower} (${+mde.toPrecision(6)}) would take the conversion rate above 1; add units`,
    }
  return { power: powerValue, mde, mdeAttainable: true, mdeReason: null }
}

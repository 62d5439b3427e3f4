import { pnorm, pnormUpper, qnorm } from './distributions.js'
import { binomialVariance } from './moments.js'
import { type PowerMetric, type PowerRequest, type PowerResponse, powerRequest } from './toolsSchema.js'

/**
 * Power and minimum detectable effect of a frequentist test on the relative lift, before an
 * experiment runs: "with this many units, how likely are we to see a lift of x?" and "what lift
 * would we see 80 % of the time?". Definitions: docs/stats.md, as GrowthBook's TS power code
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
 *   zSeq the sequential half-width in SEs at N = 2n (the two arms compared; docs/stats.md); the variance
 *   is inflated by the square of that ratio. The factor does not depend on the lift.
 * - MDE (docs/stats.md "the MDE solves the matching quadratic"; GrowthBook's definition): the lift
 *   detected *in its own direction* with probability targetPower, 1 − Φ(z(1−α/2) − Δ/SE(Δ)) =
 *   targetPower, i.e. Δ/SE(Δ) = s* = z(1−α/2) + z(targetPower). A significant result of the wrong
 *   sign (the far tail Φ(−z − s), which `power` does count, as GrowthBook's power does) is not a
 *   detection of a positive lift, so the MDE leaves it out: at the MDE, power = targetPower +
 *   Φ(−z − s*) (9.6e-7 at α = 0.05 and 80 %). With s* in closed form, Δ = s*·SE(Δ) is the quadratic
 *   (1 − k)Δ² − 2kΔ − 2k = 0 with k = s*² σ²/(n μC²), whose positive root
 *   Δ = (k + √(k(2 − k)))/(1 − k) is exact to rounding — no iterative solver, no tolerance.
 *   (Δ/SE(Δ) rises monotonically towards √n·|μC|/σ as Δ → ∞, so k ≥ 1 means no lift is large
 *   enough: mde null.) An earlier version solved the two-sided power for s* instead: a different
 *   definition, 1e-6 to 6e-6 relative below GrowthBook's MDE at 80 % (fixed 0.2450449 vs
 *   0.2450452, sequential 4.338657 vs 4.338682), enough to disagree in the 5th digit.
 * - Units needed (`unitsForPower`): power rises with n, and the sequential inflation depends on n,
 *   so there is no closed form; bisection on the total units to 1e-10 relative.
 * - A binomial MDE that would take the conversion rate above 1 is not attainable either (GrowthBook
 *   reports it anyway).
 * - A negative mean (allowed: net revenue after refunds) keeps μT = μC(1 + Δ), as GrowthBook does;
 *   only μC² enters, so power and MDE are those of |μC|. In docs/stats.md's lift (μT − μC)/|μC| that
 *   effect reads as −Δ.
 */

const Z = (alpha: number) => qnorm(1 - alpha / 2)

/** The control's mean and per-unit variance: p(1 − p) for a conversion rate (moments.ts decides). */
function moments(metric: PowerMetric): { mean: number; variance: number } {
  return metric.type === 'mean'
    ? { mean: metric.mean, variance: metric.standardDeviation ** 2 }
    : { mean: metric.conversionRate, variance: binomialVariance(1, metric.conversionRate) }
}

/** σ²·inflation/(n μC²): the relative variance of one arm's mean; SE² = base · (1 + (1 + Δ)²). */
function relativeBase(mean: number, variance: number, totalUnits: number, arms: number, alpha: number, tuning: number | undefined): number {
  const perArm = totalUnits / arms
  const inflation = tuning ? sequentialFactor(alpha, 2 * perArm, tuning) ** 2 : 1
  return (variance * inflation) / (perArm * mean * mean)
}

/** Two-sided power at relative lift `effect` with `totalUnits` over `arms`. */
function powerFor(
  mean: number,
  variance: number,
  totalUnits: number,
  arms: number,
  effect: number,
  alpha: number,
  tuning: number | undefined,
): number {
  const se = Math.sqrt(relativeBase(mean, variance, totalUnits, arms, alpha, tuning) * (1 + (1 + effect) ** 2))
  return powerAt(effect / se, alpha)
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

/**
 * s* = z(1−α/2) + z(target): the standardised effect at which the test rejects in the effect's
 * direction with probability `target`. Positive whenever target > α/2 (the schema asks target > α).
 */
export function standardizedEffectFor(target: number, alpha: number): number {
  return Z(alpha) + qnorm(target)
}

export function power(req: PowerRequest): PowerResponse {
  const r = powerRequest.parse(req)
  const { mean, variance } = moments(r.metric)
  const perArm = r.totalUnits / r.arms
  const tuning = r.sequential?.tuning
  const base = relativeBase(mean, variance, r.totalUnits, r.arms, r.alpha, tuning)
  const powerValue = powerFor(mean, variance, r.totalUnits, r.arms, r.effect, r.alpha, tuning)

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

/** What `unitsForPower` needs: a power request without the units. */
export type UnitsRequest = Omit<PowerRequest, 'totalUnits'>

/**
 * The total units (over all arms, split evenly) at which the two-sided power at `effect` reaches
 * `targetPower`, to 1e-10 relative (bisection; callers round up). At least 2 units per arm. Null
 * when the effect is 0 or no sample up to 1e15 units reaches the target.
 */
export function unitsForPower(req: UnitsRequest): number | null {
  const r = powerRequest.parse({ ...req, totalUnits: 2 * (req.arms as number) })
  const { mean, variance } = moments(r.metric)
  const tuning = r.sequential?.tuning
  const reaches = (n: number) => powerFor(mean, variance, n, r.arms, r.effect, r.alpha, tuning) >= r.targetPower
  let lo = 2 * r.arms
  if (reaches(lo)) return lo
  let hi = lo * 2
  while (!reaches(hi)) {
    if (hi > 1e15) return null
    lo = hi
    hi *= 2
  }
  while (hi - lo > 1e-10 * hi) {
    const mid = (lo + hi) / 2
    if (reaches(mid)) hi = mid
    else lo = mid
  }
  return hi
}

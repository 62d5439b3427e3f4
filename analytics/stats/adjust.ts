import { qnorm } from './distributions.js'

/**
 * Multiple-testing adjustment over the goal metrics × variants of one experiment (guardrails are
 * left out by the caller: they are one-sided alarms, not discoveries). The definitions are
 * docs/stats.md's, which are GrowthBook's (`adjustPValuesHolmBonferroni` /
 * `adjustPValuesBenjaminiHochberg`, and `adjustedCI` for the intervals).
 *
 * - Holm (family-wise error): sort ascending; the i-th (0-based) becomes p·(m − i); running max;
 *   cap 1.
 * - Benjamini–Hochberg (false discovery rate): sort descending; the i-th (0-based, i = 0 is the
 *   largest p) becomes p·m/(m − i) — i.e. p·m/rank with rank the 1-based ascending rank; running
 *   min; cap 1.
 *
 * Ties need no rule: the running max/min give tied p-values the same adjusted value whatever
 * order the sort leaves them in (as R's p.adjust does).
 */
export type AdjustMethod = 'holm' | 'bh'

export function adjustPValues(p: readonly number[], method: AdjustMethod): number[] {
  for (const v of p) if (!(v >= 0 && v <= 1)) throw new RangeError(`p-values must be in [0, 1] (got ${v})`)
  const m = p.length
  const out = new Array<number>(m)
  if (m === 0) return out
  const at = (i: number) => p[i] as number
  const order = p.map((_, i) => i)
  if (method === 'holm') {
    order.sort((a, b) => at(a) - at(b))
    let running = 0
    order.forEach((idx, i) => {
      running = Math.max(running, Math.min(1, at(idx) * (m - i)))
      out[idx] = running
    })
  } else {
    order.sort((a, b) => at(b) - at(a))
    let running = 1
    order.forEach((idx, i) => {
      // p·(m/rank), not (p·m)/rank: at rank m the factor is exactly 1, so the largest p is never
      // rounded below itself.
      running = Math.min(running, Math.min(1, at(idx) * (m / (m - i))))
      out[idx] = running
    })
  }
  return out
}

/** null = unbounded on that side (JSON has no Infinity). */
export interface AdjustedInterval {
  lower: number | null
  upper: number | null
}

/**
 * A confidence interval consistent with an adjusted p-value: it excludes 0 exactly when the
 * adjusted p < α. As GrowthBook does it: back out the standard error the adjusted p-value implies
 * for the estimate, SE_adj = |estimate| / z(1 − p_adj/2), and take estimate ± z(1 − α/2)·SE_adj.
 * Then 0 lies outside iff z(1 − α/2) < z(1 − p_adj/2) iff p_adj < α.
 *
 * Adjustment can only widen an interval: when the implied interval is not wider than the raw one
 * on both sides (p_adj = p, or a t-based raw interval already wider), the raw interval is kept.
 * With p_adj ≈ 1 (> 0.999999) the interval is unbounded: z(1 − p_adj/2) → 0 and SE_adj → ∞.
 * Assumes, as GrowthBook does, a symmetric interval around the estimate.
 */
export function adjustedInterval(args: {
  estimate: number
  ci: readonly [number, number]
  adjustedPValue: number
  alpha?: number
}): AdjustedInterval {
  const { estimate, ci, adjustedPValue, alpha = 0.05 } = args
  if (!(adjustedPValue >= 0 && adjustedPValue <= 1)) throw new RangeError(`adjustedPValue must be in [0, 1] (got ${adjustedPValue})`)
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1) (got ${alpha})`)
  const raw: AdjustedInterval = { lower: ci[0], upper: ci[1] }
  if (adjustedPValue > 0.999999) return { lower: null, upper: null }
  // estimate 0 (then p = 1 anyway) or p_adj = 0: no finite SE is implied; keep the raw interval.
  if (estimate === 0 || adjustedPValue === 0) return raw
  const seAdjusted = Math.abs(estimate / qnorm(1 - adjustedPValue / 2))
  const halfWidth = qnorm(1 - alpha / 2) * seAdjusted
  const lower = estimate - halfWidth
  const upper = estimate + halfWidth
  return lower < ci[0] && upper > ci[1] ? { lower, upper } : raw
}

import type { Alternative } from './frequentist.js'
import type { EffectMoments } from './moments.js'

/**
 * Always-valid inference (docs/stats.md "Sequential"): asymptotic confidence sequences after
 * Waudby-Smith et al. 2023 (arXiv 2103.06476), normal-based, as gbstats' SequentialTTest. The
 * result can be looked at after every batch of data without inflating the error rate.
 *
 * N = nA + nB and s² = SE²·N (the per-unit variance the sequence is scaled by); the tuning N* sets
 * ρ so the sequence is tightest around N = N*.
 */

export interface SequentialResult {
  ci: [number | null, number | null]
  pValue: number
}

/** ρ = sqrt((−2 ln a + ln(−2 ln a + 1))/N*), a = α two-sided and 2α one-sided (eq. 161). */
export function sequentialRho(alpha: number, tuning: number, twoSided: boolean): number {
  const a = twoSided ? alpha : 2 * alpha
  const l = -2 * Math.log(a)
  return Math.sqrt((l + Math.log(l + 1)) / tuning)
}

/** Two-sided half-width SE·√N·sqrt(2(Nρ²+1)/(N²ρ²)·ln(sqrt(Nρ²+1)/α)) (eq. 9). */
export function sequentialHalfwidth(se: number, n: number, rho: number, alpha: number): number {
  const nr2 = n * rho * rho
  return se * Math.sqrt(n) * Math.sqrt(((2 * (nr2 + 1)) / (nr2 * n)) * Math.log(Math.sqrt(nr2 + 1) / alpha))
}

/** One-sided half-width sqrt(s²·2(Nρ²+1)/(Nρ)²·ln(1 + sqrt(Nρ²+1)/(2α))) (eq. 134). */
export function sequentialHalfwidthOneSided(se: number, n: number, rho: number, alpha: number): number {
  const nr2 = n * rho * rho
  return se * Math.sqrt(n) * Math.sqrt(((2 * (nr2 + 1)) / (nr2 * n)) * Math.log(1 + Math.sqrt(nr2 + 1) / (2 * alpha)))
}

export function sequentialTest(m: EffectMoments, alpha: number, alternative: Alternative, tuning: number): SequentialResult {
  const n = m.nA + m.nB
  const se = Math.sqrt(m.variance)
  const z2 = (m.estimate * m.estimate) / m.variance // (Δ/SE)²
  if (alternative === 'two-sided') {
    const rho = sequentialRho(alpha, tuning, true)
    const half = sequentialHalfwidth(se, n, rho, alpha)
    const nr2 = n * rho * rho
    // p = min(1, sqrt(Nρ²+1)·exp(−ρ²·(Δ²N/SE²)/(2(Nρ²+1)))) (eq. 155): 1/e-value.
    const pValue = Math.min(1, Math.sqrt(nr2 + 1) * Math.exp((-rho * rho * z2 * n) / (2 * (nr2 + 1))))
    return { ci: [m.estimate - half, m.estimate + half], pValue }
  }
  // One-sided: ρ is fixed by the configured α; the p-value is the smallest α' whose one-sided
  // sequence excludes 0. gbstats finds it by bisection on [1e-5, 0.4999]; the half-width is
  // monotone in α', so the root has a closed form: ln(1 + c/(2α')) = Δ²/(s²A) with c = sqrt(Nρ²+1),
  // A = 2(Nρ²+1)/(Nρ)², i.e. α' = c/(2·(exp(Δ²/(s²A)) − 1)). An estimate on the wrong side of 0
  // never excludes it: p = 1.
  const rho = sequentialRho(alpha, tuning, false)
  const half = sequentialHalfwidthOneSided(se, n, rho, alpha)
  const nr2 = n * rho * rho
  const favourable = alternative === 'greater' ? m.estimate > 0 : m.estimate < 0
  // Δ²/(s²A) = z²·(Nρ)²/(2N(Nρ²+1)) = z²·Nρ²/(2(Nρ²+1))
  const pValue = favourable ? Math.min(1, Math.sqrt(nr2 + 1) / (2 * Math.expm1((z2 * nr2) / (2 * (nr2 + 1))))) : 1
  return { ci: alternative === 'greater' ? [m.estimate - half, null] : [null, m.estimate + half], pValue }
}

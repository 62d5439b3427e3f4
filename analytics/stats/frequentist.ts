import { pt, ptUpper, qnorm, qt } from './distributions.js'
import type { EffectMoments } from './moments.js'

/**
 * Fixed-horizon frequentist test of H0: effect = 0 (docs/stats.md "Frequentist"; gbstats TwoSidedTTest,
 * OneSidedTreatmentGreaterTTest, OneSidedTreatmentLesserTTest): Welch t with
 * Welch–Satterthwaite degrees of freedom, for proportions too.
 */

export type Alternative = 'two-sided' | 'greater' | 'less'

export interface FrequentistResult {
  ci: [number | null, number | null]
  pValue: number
  dof: number
}

/** ν = (vB/nB + vA/nA)² / (vB²/(nB²(nB−1)) + vA²/(nA²(nA−1))), from the per-unit variances. */
export function welchDof(m: EffectMoments): number {
  const a = m.varA / m.nA
  const b = m.varB / m.nB
  return ((a + b) * (a + b)) / ((b * b) / (m.nB - 1) + (a * a) / (m.nA - 1))
}

// stdlib's t functions return NaN (quantile) or 0.5 (cdf) for ν = ∞, and beyond ~1e10 the t is the
// normal to double precision anyway.
const NORMAL_DOF = 1e10
const tQuantile = (p: number, dof: number) => (dof > NORMAL_DOF ? qnorm(p) : qt(p, dof))
const tLower = (x: number, dof: number) => pt(x, Math.min(dof, NORMAL_DOF))
const tUpper = (x: number, dof: number) => ptUpper(x, Math.min(dof, NORMAL_DOF))

/**
 * Two-sided: Δ ± t(1−α/2, ν)·SE, p = 2·P(T > |t|). greater (H1: treatment > control):
 * [Δ − t(1−α, ν)·SE, null], p = P(T > t). less: [null, Δ + t(1−α, ν)·SE], p = P(T < t).
 * Requires m.variance > 0.
 */
export function frequentistTest(m: EffectMoments, alpha: number, alternative: Alternative): FrequentistResult {
  const se = Math.sqrt(m.variance)
  const dof = welchDof(m)
  const t = m.estimate / se
  if (alternative === 'two-sided') {
    const half = tQuantile(1 - alpha / 2, dof) * se
    return { ci: [m.estimate - half, m.estimate + half], pValue: Math.min(1, 2 * tUpper(Math.abs(t), dof)), dof }
  }
  const half = tQuantile(1 - alpha, dof) * se
  if (alternative === 'greater') return { ci: [m.estimate - half, null], pValue: tUpper(t, dof), dof }
  return { ci: [null, m.estimate + half], pValue: tLower(t, dof), dof }
}

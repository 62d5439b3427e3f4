import { pchisqUpper } from './distributions.js'

/**
 * Sample ratio mismatch: does the traffic each arm actually got match the split it was meant to
 * get? A mismatch means assignment or exposure logging is broken, and every other number of the
 * experiment is then suspect — so it is checked before any result is shown.
 *
 * Definition (STATS.md, as gbstats' `check_srm`): Pearson's χ² = Σ (o − e)²/e with
 * e = w/Σw · Σo, summed over the arms with weight > 0; p from χ²(k − 1); flagged when p < 0.001.
 *
 * One deliberate reading of the definition: k counts the arms with weight > 0 (the cells of the
 * test). gbstats uses len(users) − 1, i.e. counts zero-weight arms too; the two agree whenever all
 * weights are positive. Units seen in a zero-weight arm still count in Σo, so they show up as a
 * shortfall in the other arms and raise χ².
 */

/** The p-value below which a split is flagged: strict, because SRM is checked on every look. */
export const SRM_THRESHOLD = 0.001

export interface SrmResult {
  chiSquare: number
  pValue: number
  flagged: boolean
}

export function srm(observed: readonly number[], weights: readonly number[], threshold = SRM_THRESHOLD): SrmResult {
  if (observed.length !== weights.length) throw new RangeError(`observed has ${observed.length} arms but weights has ${weights.length}`)
  for (const o of observed) if (!Number.isFinite(o) || o < 0) throw new RangeError('observed counts must be finite and non-negative')
  for (const w of weights) if (!Number.isFinite(w) || w < 0) throw new RangeError('weights must be finite and non-negative')

  const totalObserved = observed.reduce((s, o) => s + o, 0)
  const totalWeight = weights.reduce((s, w) => s + w, 0)
  const arms = weights.filter((w) => w > 0).length
  // Nothing to test: no units yet, or fewer than two arms that are meant to get traffic.
  if (totalObserved === 0 || arms < 2) return { chiSquare: 0, pValue: 1, flagged: false }

  let chiSquare = 0
  for (let i = 0; i < observed.length; i++) {
    const w = weights[i] as number
    if (w <= 0) continue
    const e = (w / totalWeight) * totalObserved
    const d = (observed[i] as number) - e
    chiSquare += (d * d) / e
  }
  const pValue = pchisqUpper(chiSquare, arms - 1)
  return { chiSquare, pValue, flagged: pValue < threshold }
}

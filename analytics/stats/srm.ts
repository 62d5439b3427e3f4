import { pchisqUpper } from './distributions.js'
import type { SrmResponse } from './toolsSchema.js'

/**
 * Sample ratio mismatch: does the traffic each arm actually got match the split it was meant to
 * get? A mismatch means assignment or exposure logging is broken, and every other number of the
 * experiment is then suspect — so it is checked before any result is shown.
 *
 * Definition (docs/stats.md, as GrowthBook): Pearson's χ² = Σ (o − e)²/e over the arms with weight > 0,
 * with e = w/Σw · Σo where both sums also run over those arms only; p from χ²(k − 1), k the
 * number of arms with weight > 0; flagged when p < 0.001; p = 1 with fewer than two such arms or
 * no units in them.
 *
 * An arm with weight 0 is not part of the split being tested, so it is left out entirely — its
 * units included. Units that did land in a zero-weight arm are a problem of their own (an arm
 * that should get no traffic got some: a stale assignment, or weights changed mid-flight), but
 * not a mismatch of the others' split; folding them into Σo would count them as a shortfall of
 * every weighted arm and report p ≈ 0 for a split that is fine. So they come back as a separate
 * warning (`units_in_zero_weight_arm`, naming the arm and its units), never as a p-value.
 */

/** The p-value below which a split is flagged: strict, because SRM is checked on every look. */
export const SRM_THRESHOLD = 0.001

/** The result as the stats tools document it (toolsSchema.ts `srmResponse`): one schema, this type derived from it. */
export type SrmResult = SrmResponse
/** An arm with weight 0 that received units (its index as in `observed`). */
export type SrmWarning = SrmResponse['warnings'][number]

export function srm(observed: readonly number[], weights: readonly number[], threshold = SRM_THRESHOLD): SrmResult {
  if (observed.length !== weights.length) throw new RangeError(`observed has ${observed.length} arms but weights has ${weights.length}`)
  for (const o of observed) if (!Number.isFinite(o) || o < 0) throw new RangeError('observed counts must be finite and non-negative')
  for (const w of weights) if (!Number.isFinite(w) || w < 0) throw new RangeError('weights must be finite and non-negative')

  const warnings: SrmWarning[] = []
  let totalObserved = 0
  let totalWeight = 0
  let arms = 0
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i] as number
    if ((weights[i] as number) > 0) {
      totalObserved += o
      totalWeight += weights[i] as number
      arms++
    } else if (o > 0) {
      warnings.push({
        code: 'units_in_zero_weight_arm',
        arm: i,
        units: o,
        message: `arm ${i} has weight 0 but received ${o} units; it is left out of the SRM test (check assignment)`,
      })
    }
  }
  // Nothing to test: no units in the weighted arms yet, or fewer than two of them.
  if (totalObserved === 0 || arms < 2) return { chiSquare: 0, pValue: 1, flagged: false, warnings }

  let chiSquare = 0
  for (let i = 0; i < observed.length; i++) {
    const w = weights[i] as number
    if (w <= 0) continue
    const e = (w / totalWeight) * totalObserved
    const d = (observed[i] as number) - e
    chiSquare += (d * d) / e
  }
  const pValue = pchisqUpper(chiSquare, arms - 1)
  return { chiSquare, pValue, flagged: pValue < threshold, warnings }
}

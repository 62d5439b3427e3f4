import type { SrmResult } from '../stats/srm.js'
import { MIN_UNITS_PER_ARM, type Warning } from './decide.js'

/** Warnings about the sample itself, in a fixed order: SRM, zero-weight arms with units, thin arms, peeking. */
export function sampleWarnings(v: {
  arms: string[]
  units: number[]
  weights: number[]
  ratio: SrmResult
  running: boolean
  sequential: boolean
}): Warning[] {
  const { arms, units, ratio } = v
  const warnings: Warning[] = []
  if (ratio.flagged)
    warnings.push({
      code: 'srm',
      message: `Sample ratio mismatch (p = ${ratio.pValue.toExponential(2)}): observed ${units.join(' / ')} for weights ${v.weights.join(' / ')}`,
    })
  // A zero-weight arm is outside the SRM test; units in it are their own warning (srm.ts).
  for (const w of ratio.warnings)
    warnings.push({
      code: w.code,
      message: `Arm ${arms[w.arm]} has weight 0 but received ${w.units} units: it is left out of the SRM check; check assignment`,
    })
  arms.forEach((a, i) => {
    if (units[i]! < 2) warnings.push({ code: 'missing_arm', message: `Arm ${a} has ${units[i]} units: it cannot be compared yet` })
    else if (units[i]! < MIN_UNITS_PER_ARM)
      warnings.push({
        code: 'low_sample',
        message: `Arm ${a} has ${units[i]} units (fewer than ${MIN_UNITS_PER_ARM}): intervals are wide and fragile`,
      })
  })
  if (v.running && !v.sequential)
    warnings.push({
      code: 'peeking',
      message:
        'Looking at fixed-horizon results while the experiment runs inflates false positives; decide at the planned sample, or enable sequential testing',
    })
  return warnings
}

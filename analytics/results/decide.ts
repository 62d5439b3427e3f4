import { z } from 'zod'

/**
 * The decision hint and warnings for an experiment's results: pure rules over what the engine
 * returned, so the wording and the thresholds are in one place.
 */
export interface MetricVerdict {
  role: 'primary' | 'secondary' | 'guardrail'
  name: string
  arm: string
  /** Significant at the (adjusted) level, or chance to win beyond 95 % / below 5 %. */
  better: boolean
  worse: boolean
}

export const decision = z
  .object({
    hint: z.enum(['ship', 'stop', 'keep_running', 'no_difference', 'investigate']),
    arm: z.string().optional(),
    reason: z.string(),
  })
  .meta({ id: 'ResultsDecision' })
export type Decision = z.infer<typeof decision>

export function decide(v: { verdicts: MetricVerdict[]; srmFlagged: boolean; enoughData: boolean; reachedSample: boolean }): Decision {
  if (v.srmFlagged)
    return {
      hint: 'investigate',
      reason:
        'Sample ratio mismatch: the arms did not get the traffic their weights say; results are not trustworthy until the cause is found',
    }
  const harmed = v.verdicts.find((x) => x.role === 'guardrail' && x.worse)
  const primary = v.verdicts.filter((x) => x.role === 'primary')
  const winner = primary.find((x) => x.better)
  if (harmed) return { hint: 'stop', arm: harmed.arm, reason: `${harmed.arm} harms the guardrail ${harmed.name}` }
  if (primary.some((x) => x.worse) && !winner) {
    const loser = primary.find((x) => x.worse)!
    return { hint: 'stop', arm: loser.arm, reason: `${loser.arm} does worse than control on ${loser.name}` }
  }
  if (winner) return { hint: 'ship', arm: winner.arm, reason: `${winner.arm} beats control on ${winner.name} with no guardrail harmed` }
  if (!v.enoughData) return { hint: 'keep_running', reason: 'Too little data for a result yet' }
  if (v.reachedSample)
    return {
      hint: 'no_difference',
      reason: 'The planned sample is reached and no arm differs from control by the minimum detectable effect',
    }
  return { hint: 'keep_running', reason: 'No significant difference yet; the planned sample is not reached' }
}

/** Something to keep in mind reading an experiment's results (not a definition warning: see experiments/). */
export const resultWarning = z
  .object({
    code: z.enum(['low_sample', 'srm', 'units_in_zero_weight_arm', 'peeking', 'missing_arm', 'degenerate']),
    message: z.string(),
  })
  .meta({ id: 'ResultsWarning' })
export type ResultWarning = z.infer<typeof resultWarning>

export const MIN_UNITS_PER_ARM = 100

import { z } from 'zod'
import { DURATION_HINT, DURATION_TEXT, type DurationMax, durationIssue } from './duration.js'

/**
 * A duration field of an API schema, by the one grammar (core/duration.ts). Kept apart from the
 * grammar so workflow code, which parses durations, does not bundle zod.
 *
 * The type still admits a number because definitions stored before units were required hold one;
 * as input a number is refused with rule `unit`.
 */
export function durationField(max: DurationMax) {
  return z
    .union([z.string().meta({ pattern: DURATION_TEXT.source }), z.number()])
    .superRefine((v, ctx) => {
      const issue = durationIssue(v, max)
      if (issue) ctx.addIssue({ code: 'custom', message: issue.message, params: { rule: issue.rule } })
    })
    .meta({
      description: `${DURATION_HINT[0]!.toUpperCase()}${DURATION_HINT.slice(1)}; at most ${max.text}`,
      examples: ['15m', '24h', '7d'],
    })
}

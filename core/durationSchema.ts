import { z } from 'zod'
import { DURATION_HINT, DURATION_TEXT, type DurationMax, durationIssue } from './duration.js'

/**
 * A duration field of an API schema, by the one grammar (core/duration.ts). Kept apart from the
 * grammar so workflow code, which parses durations, does not bundle zod.
 *
 * The documented input is a string with a unit (OpenAPI shows only that). The TypeScript type still
 * admits a number because definitions stored before units were required hold one; as input a number
 * is refused with rule `unit`, anything else not by the grammar with rule `format`.
 */
export function durationField(max: DurationMax) {
  return z
    .custom<string | number>((v) => v !== undefined, { message: 'is required', params: { rule: 'required' } })
    .superRefine((v, ctx) => {
      const issue = durationIssue(v, max)
      if (issue) ctx.addIssue({ code: 'custom', message: issue.message, params: { rule: issue.rule } })
    })
    .meta({
      type: 'string',
      pattern: DURATION_TEXT.source,
      description: `${DURATION_HINT[0]!.toUpperCase()}${DURATION_HINT.slice(1)}; at most ${max.text}`,
      examples: ['15m', '24h', '7d'],
    })
}

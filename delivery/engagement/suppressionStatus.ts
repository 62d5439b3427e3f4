import { z } from 'zod'

/**
 * Whether an address is suppressed, and why: what the suppression list answers (suppressions.ts
 * `get`) and, with the address, what the suppressions API documents — one schema for both.
 */
export const suppressionStatus = z.object({
  suppressed: z.boolean(),
  reason: z.string().optional().describe('hard_bounce, complaint, soft_bounces or manual'),
  source: z.string().optional().describe('What suppressed it (api for a manual one)'),
  at: z.string().optional().describe('When it was suppressed (store time, UTC)'),
})
export type SuppressionStatus = z.infer<typeof suppressionStatus>

import { z } from 'zod'

/**
 * A run's live state as its workflow's `state` query answers it (JourneyState in
 * workflows/journey/runContract.ts). The workflow bundle stays free of zod, so the type is declared
 * there and this schema documents it: `reply` checks at compile time that a state is assignable to
 * it, and test/integration/openapi.responses.test.ts that it names no field the schema does not.
 */
const flagUse = z.object({
  flag: z.string(),
  value: z.number(),
  reason: z.string(),
  variant: z.string().optional(),
  experimentKey: z.string().optional(),
})

export const journeyRunState = z
  .object({
    journeyId: z.string(),
    version: z.number(),
    userKey: z.string(),
    correlation: z.string().optional(),
    step: z.string().describe('The step the run is at'),
    status: z.enum(['running', 'waiting', 'sending', 'cooldown', 'ended']),
    until: z.number().optional().describe('Until when the current step waits (epoch ms)'),
    outcome: z.string().optional(),
    experimentKey: z.string().optional(),
    variant: z.string().optional(),
    flags: z.record(z.string(), flagUse).describe('The flag values the run used'),
    sends: z.number(),
    eventsSeen: z.number(),
  })
  .meta({ id: 'JourneyRunState' })

import { z } from 'zod'

/**
 * The report bodies, as the HTTP API answers them. The reports compute these shapes in
 * analytics/; `reply` checks at compile time that what they return is what is documented here.
 */
const percentiles = z.object({ p50: z.number(), p90: z.number(), p99: z.number() }).nullable()

export const latencyReport = z
  .object({
    from: z.string(),
    until: z.string(),
    unit: z.string(),
    journeys: z.array(
      z.object({
        journey: z.string(),
        runs: z.number(),
        eventToReceived: percentiles,
        receivedToStarted: percentiles,
        steps: z.array(z.object({ step: z.string(), sends: z.number(), startedToSent: percentiles, scheduledToSent: percentiles })),
        slo: z.object({
          receivedToSentMs: z.number(),
          sends: z.number(),
          breaches: z.number(),
          examples: z.array(z.object({ workflowId: z.string(), step: z.string(), ms: z.number(), receivedAt: z.string() })),
        }),
        overTime: z.array(z.object({ at: z.string(), runs: z.number(), receivedToStarted: percentiles })),
      }),
    ),
  })
  .meta({ id: 'TriggerLatencyReport' })

const countsByClass = z.record(z.string(), z.number())

export const falseTriggersReport = z
  .object({
    from: z.string(),
    until: z.string(),
    sends: z.number(),
    falseTriggers: z.number(),
    rate: z.number(),
    alert: z.boolean(),
    counts: countsByClass,
    failedRuns: z.number(),
    journeys: z.array(
      z.object({
        journey: z.string(),
        sends: z.number(),
        counts: countsByClass,
        rate: z.number(),
        prevented: countsByClass,
        failed: countsByClass,
      }),
    ),
    failures: z.array(
      z.object({
        journey: z.string(),
        workflowId: z.string(),
        userKey: z.string(),
        step: z.string(),
        stepType: z.string(),
        message: z.string(),
        at: z.string(),
      }),
    ),
    examples: z.record(
      z.string(),
      z.array(
        z.object({
          journey: z.string(),
          userKey: z.string(),
          messageId: z.string(),
          at: z.string(),
          evidence: z.record(z.string(), z.unknown()).describe('Free-form: what the detector saw (differs by class)'),
        }),
      ),
    ),
  })
  .meta({ id: 'FalseTriggerReport' })

const perRecipient = z
  .object({
    holdout: z.number().nullable(),
    mailed: z.number().nullable(),
    lift: z.number().nullable(),
    ci: z.tuple([z.number().nullable(), z.number().nullable()]),
    pValue: z.number().nullable(),
  })
  .nullable()
const holdoutLine = z.object({
  journey: z.string(),
  recipients: z.object({ holdout: z.number(), mailed: z.number() }),
  conversionPerRecipient: perRecipient,
  revenuePerRecipient: perRecipient,
})

export const holdoutReport = z
  .object({ from: z.string(), until: z.string(), windowDays: z.number(), journeys: z.array(holdoutLine), overall: holdoutLine.nullable() })
  .meta({ id: 'HoldoutReport' })
export type HoldoutReport = z.infer<typeof holdoutReport>

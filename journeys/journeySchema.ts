import { z } from 'zod'
import { propertyFilter } from '../segments/ruleSchema.js'
import { COMPUTED_PROPERTIES } from '../segments/ruleSchema.js'
import { consentTopic } from '../core/wireSchemas.js'
import { durationField } from '../core/durationSchema.js'

/**
 * A journey, as one schema: the API validates with it, the types come from it, the workflow
 * interprets it, the OpenAPI document shows it. A journey is a trigger, entry rules, exit
 * criteria and a list of steps; each step goes on to `next` (default: the step after it), and
 * branching steps name their targets by step id.
 */
export const journeyId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, _ and -)')
export const stepId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase slug (a-z, 0-9, _ and -)')

/** A duration by the one grammar (core/duration.ts): "250ms", "90s", "15m", "72h", "3d". */
export const span = durationField({ ms: 366 * 86_400_000, text: 'a year' })

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)')
const comparableValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))])
const op = z.enum(['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'between', 'exists', 'not_exists'])

/** One test of a condition split; all of a split's tests must hold. */
export const conditionTest = z
  .union([
    z.object({ trait: z.object({ key: z.string().min(1).max(200), op, value: comparableValue.optional() }) }).strict(),
    z.object({ computed: z.object({ property: z.enum(COMPUTED_PROPERTIES), op, value: comparableValue.optional() }) }).strict(),
    z.object({ segment: z.object({ id: z.string().min(1).max(100), member: z.boolean().default(true) }) }).strict(),
    /** A predicate on the event that started the run (`properties.total`, `context.locale`, …). */
    z.object({ trigger: z.object({ path: z.string().min(1).max(200), op, value: comparableValue.optional() }) }).strict(),
  ])
  .meta({ id: 'JourneyCondition' })

/** An event a run listens for: by the run's correlation value, or any event of the user. */
export const eventMatch = z
  .object({
    event: z.string().min(1).max(200),
    match: z.enum(['correlation', 'user']).default('user'),
    where: z.array(propertyFilter).max(20).optional(),
  })
  .meta({ id: 'JourneyEventMatch' })

const base = { id: stepId, name: z.string().max(200).optional() }
const next = { next: stepId.optional() }

export const delayStep = z
  .object({
    ...base,
    type: z.literal('delay'),
    /** A fixed wait. */
    duration: span.optional(),
    /** A duration flag decides (often set by a timing experiment); `default` when the flag is missing. */
    flag: z.object({ key: z.string().min(1).max(200), default: span }).optional(),
    /** Then wait on until the user's local time is inside [from, to) (timezone from the `timezone` trait). */
    until: z.object({ from: clock, to: clock, timezone: z.string().max(100).optional() }).optional(),
    ...next,
  })
  .strict()
  .refine((s) => s.duration !== undefined || s.flag || s.until, {
    message: 'a delay needs duration, flag or until',
    params: { rule: 'required' },
  })
  .refine((s) => !(s.duration !== undefined && s.flag), {
    message: 'give duration or flag, not both',
    path: ['flag'],
    params: { rule: 'exclusive' },
  })

export const waitStep = z
  .object({
    ...base,
    type: z.literal('wait'),
    for: eventMatch,
    timeout: span,
    onEvent: stepId.optional(),
    onTimeout: stepId.optional(),
  })
  .strict()

export const conditionStep = z
  .object({
    ...base,
    type: z.literal('condition'),
    when: z.array(conditionTest).min(1).max(20),
    then: stepId.optional(),
    else: stepId.optional(),
  })
  .strict()

export const experimentStep = z
  .object({
    ...base,
    type: z.literal('experiment'),
    experiment: z.string().min(1).max(100),
    /** variant key → step; a variant without a branch goes on to `next`. A holdout arm ends the run (recorded, nothing sent). */
    branches: z.record(z.string(), stepId).default({}),
    ...next,
  })
  .strict()

export const sendStep = z
  .object({
    ...base,
    type: z.literal('send'),
    template: z.string().min(1).max(100),
    /** Overrides the template's subject (Liquid). An experiment variant's payload `subject` / `template` override both. */
    subject: z.string().max(500).optional(),
    /** The consent topic the message needs (journeys' default: marketing). */
    topic: consentTopic.optional(),
    ...next,
  })
  .strict()

export const updateTraitStep = z
  .object({
    ...base,
    type: z.literal('update_trait'),
    key: z.string().min(1).max(200),
    value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
    ...next,
  })
  .strict()

export const exitStep = z.object({ ...base, type: z.literal('exit') }).strict()

export const step = z
  .discriminatedUnion('type', [delayStep, waitStep, conditionStep, experimentStep, sendStep, updateTraitStep, exitStep])
  .meta({ id: 'JourneyStep' })

export const trigger = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('event'), event: z.string().min(1).max(200), where: z.array(propertyFilter).max(20).optional() }).strict(),
    z.object({ type: z.literal('segment_entry'), segment: z.string().min(1).max(100) }).strict(),
    z.object({ type: z.literal('segment_exit'), segment: z.string().min(1).max(100) }).strict(),
    /** Every `every`, each member of `segment` (all known users without one) enters. */
    z.object({ type: z.literal('schedule'), every: span, segment: z.string().min(1).max(100) }).strict(),
  ])
  .meta({ id: 'JourneyTrigger' })

export const exitCriterion = z
  .union([
    /** A conversion: the run ends the moment this event arrives (and is re-checked before every send). */
    eventMatch.extend({ type: z.literal('event') }).strict(),
    z.object({ type: z.literal('segment_exit'), segment: z.string().min(1).max(100) }).strict(),
  ])
  .meta({ id: 'JourneyExit' })

export const journeyDefinition = z
  .object({
    id: journeyId,
    name: z.string().min(1).max(200),
    description: z.string().max(2000).optional(),
    trigger,
    entry: z
      .object({
        /** Users without this consent never enter (and an opt-out ends the run). */
        consent: consentTopic.default('marketing'),
        reentry: z.enum(['never', 'always', 'cooldown']).default('always'),
        cooldown: span.optional(),
        /** A property path of the trigger event (e.g. `cartId`): one run per value; events carrying it reach the run. */
        correlationKey: z.string().min(1).max(200).optional(),
      })
      .strict()
      .default({ consent: 'marketing', reentry: 'always' }),
    exit: z.array(exitCriterion).max(20).default([]),
    /** Frequency cap: when sends compete, the higher priority goes first. */
    priority: z.number().int().min(0).max(100).default(50),
    steps: z.array(step).min(1).max(100),
  })
  .strict()
  .meta({ id: 'JourneyDefinition' })

export type JourneyDefinition = z.infer<typeof journeyDefinition>
export type JourneyStep = z.infer<typeof step>
export type ConditionTest = z.infer<typeof conditionTest>
export type EventMatch = z.infer<typeof eventMatch>
export type ExitCriterion = z.infer<typeof exitCriterion>
export type Trigger = z.infer<typeof trigger>

export const JOURNEY_STATUSES = ['draft', 'active', 'paused', 'archived'] as const
export type JourneyStatus = (typeof JOURNEY_STATUSES)[number]

/** What a run carries: the definition as it was when the run started. */
export interface JourneySnapshot {
  definition: JourneyDefinition
  version: number
}

import { z } from 'zod'

/**
 * An experiment, as one schema: the API validates with it, the types come from it, the OpenAPI
 * document shows it. Every journey step can be one (content, subject, timing, whether to send).
 */
export const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'must be a lowercase slug (a-z, 0-9, _ . -)')

export const metric = z
  .object({
    /** The event that counts, e.g. "Order Completed". */
    event: z.string().min(1).max(200),
    /** conversion: did it at least once · count: how many times · sum: of a numeric property. */
    kind: z.enum(['conversion', 'count', 'sum']).default('conversion'),
    /** For `sum`: the property summed, e.g. "revenue". */
    property: z.string().min(1).max(200).optional(),
    /** Counted within this many days of the unit's first exposure. */
    windowDays: z.number().positive().max(365).default(7),
    /** Lower is better (unsubscribes, complaints). */
    inverse: z.boolean().default(false),
    /** Per-unit values above this percentile of all units are capped to it (revenue outliers), e.g. 0.99. */
    capPercentile: z.number().gt(0.5).lt(1).optional(),
    name: z.string().max(200).optional(),
  })
  .refine((m) => m.kind !== 'sum' || m.property, {
    message: 'a sum metric needs the property it sums',
    path: ['property'],
    params: { rule: 'required' },
  })
  .meta({ id: 'ExperimentMetric' })

export const variant = z
  .object({
    key: slug,
    name: z.string().max(200).optional(),
    /** Share of the experiment's traffic, 0–1; all weights sum to 1. */
    weight: z.number().min(0).max(1),
    /** The holdout arm: in the experiment, measured, but sent nothing. */
    holdout: z.boolean().default(false),
    /** What the variant changes: a template or subject override, a delay, flag values (`flags`). */
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .meta({ id: 'ExperimentVariant' })

export const statsSettings = z
  .object({
    engine: z.enum(['frequentist', 'bayesian']).default('frequentist'),
    alpha: z.number().gt(0).lt(0.5).default(0.05),
    sequential: z
      .object({ enabled: z.boolean().default(false), tuning: z.number().int().positive().default(5000) })
      .default({ enabled: false, tuning: 5000 }),
    cuped: z
      .object({ enabled: z.boolean().default(false), preDays: z.number().int().positive().max(365).default(14) })
      .default({ enabled: false, preDays: 14 }),
    prior: z.object({ mean: z.number().default(0), variance: z.number().positive().default(0.09) }).optional(),
  })
  .meta({ id: 'StatsSettings' })

export const experimentDefinition = z
  .object({
    key: slug,
    name: z.string().min(1).max(200),
    hypothesis: z.string().max(2000).optional(),
    /** Which id is randomised. */
    unit: z.enum(['userId', 'anonymousId']).default('userId'),
    variants: z.array(variant).min(2).max(20),
    primaryMetric: metric,
    secondaryMetrics: z.array(metric).max(20).default([]),
    /** Metrics that must not get worse (one-sided checks), e.g. unsubscribes. */
    guardrailMetrics: z.array(metric).max(20).default([]),
    stats: statsSettings.default({
      engine: 'frequentist',
      alpha: 0.05,
      sequential: { enabled: false, tuning: 5000 },
      cuped: { enabled: false, preDays: 14 },
    }),
    /** Only members of this segment take part. */
    targeting: z.object({ segment: z.string().min(1).max(100).optional() }).default({}),
    /** Share of eligible units in the experiment (0–1]; raising it keeps everyone already in where they were. */
    traffic: z.number().gt(0).max(1).default(1),
    /**
     * Mutual exclusion: experiments in one layer take disjoint parts [from, to) of the layer's own
     * hash, so they never share a unit.
     */
    layer: z.object({ id: slug, range: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]) }).optional(),
    schedule: z
      .object({ start: z.iso.datetime({ offset: true }).optional(), end: z.iso.datetime({ offset: true }).optional() })
      .default({}),
    /** The journey step it belongs to (informational: journeys ask for an assignment by key). */
    journeyStep: z.string().max(200).optional(),
  })
  .superRefine((e, ctx) => {
    const sum = e.variants.reduce((n, v) => n + v.weight, 0)
    if (Math.abs(sum - 1) > 1e-6)
      ctx.addIssue({
        code: 'custom',
        path: ['variants'],
        message: `weights must sum to 1 (they sum to ${+sum.toFixed(6)})`,
        params: { rule: 'weights_sum' },
      })
    const seen = new Set<string>()
    e.variants.forEach((v, i) => {
      if (seen.has(v.key))
        ctx.addIssue({
          code: 'custom',
          path: ['variants', i, 'key'],
          message: `duplicate variant key "${v.key}"`,
          params: { rule: 'unique' },
        })
      seen.add(v.key)
    })
    if (e.variants.filter((v) => v.holdout).length > 1)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at most one holdout arm', params: { rule: 'max_holdout' } })
    if (e.layer && !(e.layer.range[0] < e.layer.range[1]))
      ctx.addIssue({ code: 'custom', path: ['layer', 'range'], message: 'from must be below to', params: { rule: 'range' } })
    if (e.schedule.start && e.schedule.end && Date.parse(e.schedule.start) >= Date.parse(e.schedule.end))
      ctx.addIssue({ code: 'custom', path: ['schedule', 'end'], message: 'end must be after start', params: { rule: 'range' } })
  })
  .meta({ id: 'ExperimentDefinition' })

export type ExperimentDefinition = z.infer<typeof experimentDefinition>
export type Variant = z.infer<typeof variant>
export type Metric = z.infer<typeof metric>

/** Something odd about a definition that does not stop it being saved (a metric on an event never received). */
export const definitionWarning = z.object({ path: z.string(), message: z.string() }).meta({ id: 'DefinitionWarning' })
export type DefinitionWarning = z.infer<typeof definitionWarning>

export const ASSIGN_REASONS = [
  'assigned',
  'global_holdout',
  'not_running',
  'rolled_out',
  'not_started',
  'ended',
  'not_targeted',
  'outside_layer',
  'outside_traffic',
] as const

/** Where a unit lands in an experiment, and why (experiments/assign.ts computes it). */
export const assignment = z.object({
  experiment: z.string(),
  unit: z.string(),
  /** In the experiment: counts in its analysis (and its first exposure is logged). */
  inExperiment: z.boolean(),
  /** The variant to apply (also the rolled-out winner), or null: behave as without the experiment. */
  variant: z.string().nullable(),
  /** Send nothing (the experiment's holdout arm). */
  holdout: z.boolean(),
  bucket: z.number(),
  reason: z.enum(ASSIGN_REASONS),
  payload: z.record(z.string(), z.unknown()),
})
export type Assignment = z.infer<typeof assignment>

/** An assignment explained in words, with the unit's first logged exposure (the admin API's answer). */
export const explainedAssignment = assignment
  .extend({ explanation: z.string(), firstExposure: z.object({ variant: z.string(), at: z.string() }).nullable() })
  .meta({ id: 'Assignment' })
export type ExplainedAssignment = z.infer<typeof explainedAssignment>

export const EXPERIMENT_STATUSES = ['draft', 'running', 'stopped', 'rolled_out'] as const
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number]

/** What a running experiment may still change: nothing that would mix two experiments' data. */
export const SAFE_WHILE_RUNNING = [
  'name',
  'hypothesis',
  'primaryMetric',
  'secondaryMetrics',
  'guardrailMetrics',
  'stats',
  'traffic',
  'schedule',
  'journeyStep',
] as const

export interface Experiment {
  definition: ExperimentDefinition
  status: ExperimentStatus
  /** The winner every unit gets once rolled out. */
  rolledOut?: string
  version: number
  updatedAt: number
  startedAt?: number
  stoppedAt?: number
}

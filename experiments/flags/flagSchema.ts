import { z } from 'zod'
import { DURATION_HINT, durationIssue, parseDuration } from '../../core/duration.js'

export { parseDuration }

/**
 * A feature flag, as one schema (API validation, types, OpenAPI). Values are typed; a duration is
 * written by the one grammar (core/duration.ts: "15m", "1h", "90s") and stored and served as
 * milliseconds. A bare number as input is refused (rule `unit`); as stored (normalised) or set by an
 * experiment's payload it is milliseconds, which is what it always meant here.
 */
export const FLAG_TYPES = ['boolean', 'string', 'number', 'duration', 'json'] as const
export type FlagType = (typeof FLAG_TYPES)[number]

/** The value as served for its type, or undefined when it is not one. */
export function coerceFlagValue(type: FlagType, v: unknown): unknown {
  switch (type) {
    case 'boolean':
      return typeof v === 'boolean' ? v : undefined
    case 'string':
      return typeof v === 'string' ? v : undefined
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined
    case 'duration':
      return parseDuration(v) ?? undefined
    case 'json':
      return v === undefined ? undefined : v
  }
}

const attributeCondition = z.object({
  /** A dotted path into the evaluation context, e.g. `country` or `plan.tier`. */
  attribute: z.string().min(1).max(200),
  op: z.enum(['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'between', 'exists', 'not_exists']),
  value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]).optional(),
})

export const flagRule = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .optional(),
    description: z.string().max(500).optional(),
    /** The unit (targetingKey) must be a member of this segment. */
    segment: z.string().min(1).max(100).optional(),
    /** Every condition on the evaluation context must hold. */
    conditions: z.array(attributeCondition).max(20).default([]),
    /** Only this share of matching units (0–100), by the same hash as experiments. */
    percentage: z.number().min(0).max(100).optional(),
    /** Serve what the unit's variant of this experiment sets for the flag (`payload.flags`). */
    experiment: z.string().min(1).max(100).optional(),
    value: z.unknown().optional(),
  })
  .meta({ id: 'FlagRule' })

const flagFields = z.object({
  key: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,199}$/, 'must be lowercase: a-z, 0-9, _ . - (e.g. cart_abandonment.reminder_delay)'),
  description: z.string().max(2000).optional(),
  type: z.enum(FLAG_TYPES),
  defaultValue: z.unknown(),
  enabled: z.boolean().default(true),
  rules: z.array(flagRule).max(50).default([]),
})

/** Values must be of the flag's type; rule ids unique. */
function checkValues(f: Omit<z.output<typeof flagFields>, 'key'>, ctx: z.RefinementCtx): void {
  const check = (path: (string | number)[], v: unknown) => {
    if (f.type === 'duration' && typeof v === 'number')
      ctx.addIssue({ code: 'custom', path, message: durationIssue(v)!.message, params: { rule: 'unit' } })
    else if (coerceFlagValue(f.type, v) === undefined)
      ctx.addIssue({
        code: 'custom',
        path,
        message: f.type === 'duration' ? `must be ${DURATION_HINT}` : `must be a ${f.type}`,
        params: { rule: 'type' },
      })
  }
  check(['defaultValue'], f.defaultValue)
  const ids = new Set<string>()
  f.rules.forEach((r, i) => {
    if (r.value !== undefined || !r.experiment) check(['rules', i, 'value'], r.value)
    const id = r.id ?? `rule-${i + 1}`
    if (ids.has(id))
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${id}"`, params: { rule: 'unique' } })
    ids.add(id)
  })
}

export const flagDefinition = flagFields.superRefine(checkValues).meta({ id: 'FlagDefinition' })
/** A replacement (PUT): the key comes from the path. */
export const flagUpdate = flagFields.omit({ key: true }).superRefine(checkValues)

export type FlagInput = z.output<typeof flagDefinition>

/** A value of the flag's type, as stored and served. */
const servedValue = (what: string) =>
  z.unknown().describe(`${what}: a value of the flag’s type (durations in ms; any JSON for a json flag)`)

/** A flag as stored and served (normalizeFlag): every rule has an id, values are of the flag's type. */
export const storedFlagDefinition = flagFields
  .extend({
    defaultValue: servedValue('The default'),
    rules: z.array(flagRule.extend({ id: z.string(), value: servedValue('What the rule serves').optional() })),
  })
  .meta({ id: 'StoredFlagDefinition' })
export type FlagDefinition = z.infer<typeof storedFlagDefinition>
export type FlagRule = FlagDefinition['rules'][number]

/** One change in a flag's audit log: who, when, and the definition before and after. */
export const flagAuditEntry = z
  .object({
    at: z.string(),
    actor: z.string(),
    action: z.enum(['create', 'update', 'delete']),
    before: storedFlagDefinition.nullable().describe('null when created'),
    after: storedFlagDefinition.nullable().describe('null when deleted'),
  })
  .meta({ id: 'FlagChange' })
export type AuditEntry = z.infer<typeof flagAuditEntry>

/** Stored and served normalised: durations in milliseconds; every rule has an id. */
export function normalizeFlag(f: FlagInput): FlagDefinition {
  return {
    ...f,
    defaultValue: coerceFlagValue(f.type, f.defaultValue),
    rules: f.rules.map((r, i) => ({
      ...r,
      id: r.id ?? `rule-${i + 1}`,
      ...(r.value !== undefined ? { value: coerceFlagValue(f.type, r.value) } : {}),
    })),
  }
}

/**
 * What an evaluation answers, with OpenFeature's reasons (evaluateFlag.ts): the value, why, and what
 * went wrong when the caller's default was served (reason ERROR).
 */
export const flagEvaluation = z
  .object({
    value: z.unknown().describe('A value of the flag’s type (durations in ms; any JSON for a json flag), or the default sent'),
    reason: z.enum(['TARGETING_MATCH', 'SPLIT', 'DEFAULT', 'DISABLED', 'ERROR']),
    variant: z.string().optional(),
    errorCode: z.enum(['FLAG_NOT_FOUND', 'TYPE_MISMATCH', 'PARSE_ERROR']).optional(),
    errorMessage: z.string().optional(),
    flagMetadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .meta({ id: 'FlagEvaluation' })
export type FlagEvaluation = z.infer<typeof flagEvaluation>

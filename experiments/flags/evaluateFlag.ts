import { comparer, readerOf } from '../../core/compareValue.js'
import { type Json, MISSING, atPath, extractBool, extractFloat, extractString } from '../../core/jsonValue.js'
import type { Comparable } from '../../core/compareValue.js'
import type { Assignment } from '../assign.js'
import { bucketerOf } from '../hash.js'
import { type FlagDefinition, type FlagEvaluation, coerceFlagValue } from './flagSchema.js'

/**
 * Flag evaluation, pure, with OpenFeature's reasons: the first rule whose conditions hold serves
 * its value (TARGETING_MATCH), or a share of units by the experiments' hash (SPLIT), or what the
 * unit's variant of an experiment sets (SPLIT, with the variant); no rule → the flag's default
 * (DEFAULT); switched off → DISABLED. What cannot be answered is the caller's default with reason
 * ERROR and a code (FLAG_NOT_FOUND, TYPE_MISMATCH) — never an exception.
 */
export type Requested = 'boolean' | 'string' | 'number' | 'object'

/** An evaluation (flagSchema.ts `flagEvaluation`) whose value has the type the caller asked for. */
export type Details<T> = Omit<FlagEvaluation, 'value'> & { value: T }

export interface FlagDeps {
  isMember(segmentId: string, unit: string): boolean
  /** The unit's assignment (logging its exposure), or undefined for an unknown experiment. */
  assign(experimentKey: string, unit: string, context: Record<string, unknown>): Assignment | undefined
}

export type EvaluationContext = Record<string, unknown> & { targetingKey?: string }

const SERVED_AS: Record<FlagDefinition['type'], Requested> = {
  boolean: 'boolean',
  string: 'string',
  number: 'number',
  duration: 'number',
  json: 'object',
}

/** Compiled per flag once (conditions and their comparers), then evaluated many times. */
export function compileFlag(flag: FlagDefinition) {
  const rules = flag.rules.map((r) => ({
    rule: r,
    // The rollout's own hash key: a unit's share of one rule is independent of other rules and flags.
    bucket: bucketerOf(`${flag.key}.${r.id}`),
    conditions: r.conditions.map((c) => {
      const path = c.attribute.split('.')
      const cmp = comparer(c as Comparable)
      // One reader per condition, pointed at the value being compared: nothing allocated per call.
      let current: Json | typeof MISSING = MISSING
      const read = readerOf({ string: () => extractString(current), float: () => extractFloat(current), bool: () => extractBool(current) })
      return (ctx: EvaluationContext) => {
        current =
          path.length === 1
            ? Object.hasOwn(ctx, path[0]!)
              ? (ctx[path[0]!] as Json)
              : MISSING
            : (atPath(ctx, path) as Json | typeof MISSING)
        return cmp(current !== MISSING && current !== null, read)
      }
    }),
  }))
  return { flag, rules, servedAs: SERVED_AS[flag.type] }
}
export type CompiledFlag = ReturnType<typeof compileFlag>

export function evaluateFlag<T>(
  compiled: CompiledFlag | undefined,
  key: string,
  requested: Requested,
  defaultValue: T,
  ctx: EvaluationContext,
  deps: FlagDeps,
): Details<T> {
  if (!compiled) return { value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `no flag "${key}"` }
  const { flag, rules, servedAs } = compiled
  if (servedAs !== requested)
    return {
      value: defaultValue,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
      errorMessage: `"${key}" is a ${flag.type} flag (served as ${servedAs}), asked for ${requested}`,
    }
  if (!flag.enabled) return { value: flag.defaultValue as T, reason: 'DISABLED' }
  const unit = typeof ctx.targetingKey === 'string' && ctx.targetingKey ? ctx.targetingKey : undefined
  for (const { rule, conditions, bucket } of rules) {
    if (rule.segment && (!unit || !deps.isMember(rule.segment, unit))) continue
    let holds = true
    for (const c of conditions) if (!(holds = c(ctx))) break
    if (!holds) continue
    if (rule.experiment) {
      if (!unit) continue
      const a = deps.assign(rule.experiment, unit, ctx)
      if (!a?.variant) continue
      const set = (a.payload.flags as Record<string, unknown> | undefined)?.[flag.key]
      const value = set === undefined ? rule.value : coerceFlagValue(flag.type, set)
      if (value === undefined) {
        if (set === undefined) continue
        return {
          value: defaultValue,
          reason: 'ERROR',
          errorCode: 'TYPE_MISMATCH',
          errorMessage: `variant "${a.variant}" of "${rule.experiment}" sets "${key}" to a value that is not a ${flag.type}`,
        }
      }
      return {
        value: value as T,
        reason: 'SPLIT',
        variant: a.variant,
        flagMetadata: { experimentKey: rule.experiment, variant: a.variant, ruleId: rule.id, inExperiment: a.inExperiment },
      }
    }
    if (rule.percentage !== undefined) {
      if (!unit || bucket(unit) >= rule.percentage / 100) continue
      return { value: rule.value as T, reason: 'SPLIT', variant: rule.id, flagMetadata: { ruleId: rule.id } }
    }
    return { value: rule.value as T, reason: 'TARGETING_MATCH', variant: rule.id, flagMetadata: { ruleId: rule.id } }
  }
  return { value: flag.defaultValue as T, reason: 'DEFAULT', variant: 'default' }
}

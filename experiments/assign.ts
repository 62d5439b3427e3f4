import type { Experiment, Variant } from './experimentSchema.js'
import { bucketOf } from './hash.js'

/**
 * Assignment, pure: the same unit always lands in the same variant of an experiment — across
 * re-entries, restarts and processes — because it is a function of the hash alone.
 *
 * bucket = murmur3(experiment key + ':' + unit) / 2^32. Variant i owns [start_i, start_i + weight_i ×
 * traffic), start_i being the sum of the weights before it: raising traffic widens every range
 * where it starts, so nobody already in moves.
 */
export const GLOBAL_HOLDOUT_KEY = 'nudge.global-holdout'

export type AssignReason =
  | 'assigned'
  | 'global_holdout'
  | 'not_running'
  | 'rolled_out'
  | 'not_started'
  | 'ended'
  | 'not_targeted'
  | 'outside_layer'
  | 'outside_traffic'

export interface Assignment {
  experiment: string
  unit: string
  /** In the experiment: counts in its analysis (and its first exposure is logged). */
  inExperiment: boolean
  /** The variant to apply (also the rolled-out winner), or null: behave as without the experiment. */
  variant: string | null
  /** Send nothing (the experiment's holdout arm). */
  holdout: boolean
  bucket: number
  reason: AssignReason
  explanation: string
  payload: Record<string, unknown>
}

export interface AssignContext {
  now: number
  /** Share of all units held out of every journey email (0 = none). */
  globalHoldout: number
  isMember(segmentId: string, unit: string): boolean
}

export function inGlobalHoldout(unit: string, share: number): boolean {
  return share > 0 && bucketOf(GLOBAL_HOLDOUT_KEY, unit) < share
}

export function variantRanges(variants: Pick<Variant, 'weight'>[], traffic: number): [number, number][] {
  let start = 0
  return variants.map((v) => {
    const range: [number, number] = [start, start + v.weight * traffic]
    start += v.weight
    return range
  })
}

export function assign(exp: Experiment, unit: string, ctx: AssignContext): Assignment {
  const d = exp.definition
  const bucket = bucketOf(d.key, unit)
  const out = (reason: AssignReason, explanation: string, v?: Variant, inExperiment = false): Assignment => ({
    experiment: d.key,
    unit,
    inExperiment,
    variant: v?.key ?? null,
    holdout: v?.holdout ?? false,
    bucket,
    reason,
    explanation,
    payload: v?.payload ?? {},
  })
  if (inGlobalHoldout(unit, ctx.globalHoldout)) return out('global_holdout', `in the global holdout (${pct(ctx.globalHoldout)} of all units get no journey email)`)
  if (exp.status === 'rolled_out') {
    const winner = d.variants.find((v) => v.key === exp.rolledOut)
    return out('rolled_out', `rolled out: everyone gets "${exp.rolledOut}"`, winner)
  }
  if (exp.status !== 'running') return out('not_running', `the experiment is ${exp.status}`)
  if (d.schedule.start && ctx.now < Date.parse(d.schedule.start)) return out('not_started', `starts ${d.schedule.start}`)
  if (d.schedule.end && ctx.now >= Date.parse(d.schedule.end)) return out('ended', `ended ${d.schedule.end}`)
  if (d.targeting.segment && !ctx.isMember(d.targeting.segment, unit)) return out('not_targeted', `not in segment "${d.targeting.segment}"`)
  if (d.layer) {
    const at = bucketOf(d.layer.id, unit)
    if (at < d.layer.range[0] || at >= d.layer.range[1])
      return out('outside_layer', `layer "${d.layer.id}" bucket ${at.toFixed(4)} is outside this experiment's part [${d.layer.range[0]}, ${d.layer.range[1]})`)
  }
  const ranges = variantRanges(d.variants, d.traffic)
  const i = ranges.findIndex(([from, to]) => bucket >= from && bucket < to)
  if (i < 0) return out('outside_traffic', `bucket ${bucket.toFixed(4)} is outside the ${pct(d.traffic)} of traffic in the experiment`)
  const v = d.variants[i]!
  return out('assigned', `bucket ${bucket.toFixed(4)} is in [${ranges[i]![0].toFixed(4)}, ${ranges[i]![1].toFixed(4)}) → "${v.key}"${v.holdout ? ' (holdout: nothing is sent)' : ''}`, v, true)
}

/** Two layer parts overlap (experiments in one layer must not, or they would share units). */
export function rangesOverlap(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[1] && b[0] < a[1]
}

const pct = (x: number) => `${+(x * 100).toFixed(4)} %`

import type { Assignment, Experiment, Variant } from './experimentSchema.js'
import { bucketerOf } from './hash.js'

/** The assignment type comes from its schema in experimentSchema.ts; re-exported for assign's users. */
export type { Assignment }

/**
 * Assignment, pure: the same unit always lands in the same variant of an experiment — across
 * re-entries, restarts and processes — because it is a function of the hash alone.
 *
 * bucket = murmur3(experiment key + ':' + unit) / 2^32. Variant i owns [start_i, start_i + weight_i ×
 * traffic), start_i being the sum of the weights before it: raising traffic widens every range
 * where it starts, so nobody already in moves.
 */
export const GLOBAL_HOLDOUT_KEY = 'nudge.global-holdout'

export type AssignReason = Assignment['reason']

export interface AssignContext {
  now: number
  /** Share of all units held out of every journey email (0 = none). */
  globalHoldout: number
  isMember(segmentId: string, unit: string): boolean
}

const globalBucket = bucketerOf(GLOBAL_HOLDOUT_KEY)

export function inGlobalHoldout(unit: string, share: number): boolean {
  return share > 0 && globalBucket(unit) < share
}

export function variantRanges(variants: Pick<Variant, 'weight'>[], traffic: number): [number, number][] {
  let start = 0
  return variants.map((v) => {
    const range: [number, number] = [start, start + v.weight * traffic]
    start += v.weight
    return range
  })
}

/** What assignment needs of a definition, worked out once per experiment version. */
interface Prepared {
  ranges: [number, number][]
  bucket: (unit: string) => number
  layerBucket?: (unit: string) => number
  start: number
  end: number
}
const prepared = new WeakMap<Experiment, Prepared>()

// The last one asked for: a loop over units of one experiment skips the lookup.
let lastExp: Experiment | undefined
let lastPrepared: Prepared | undefined

function prepare(exp: Experiment): Prepared {
  let p = prepared.get(exp)
  if (!p) {
    const d = exp.definition
    p = {
      ranges: variantRanges(d.variants, d.traffic),
      bucket: bucketerOf(d.key),
      ...(d.layer ? { layerBucket: bucketerOf(d.layer.id) } : {}),
      start: d.schedule.start ? Date.parse(d.schedule.start) : Number.NEGATIVE_INFINITY,
      end: d.schedule.end ? Date.parse(d.schedule.end) : Number.POSITIVE_INFINITY,
    }
    prepared.set(exp, p)
  }
  lastExp = exp
  lastPrepared = p
  return p
}

export function assign(exp: Experiment, unit: string, ctx: AssignContext): Assignment {
  const d = exp.definition
  const p = exp === lastExp ? lastPrepared! : prepare(exp)
  const bucket = p.bucket(unit)
  let reason: AssignReason = 'outside_traffic'
  let v: Variant | undefined
  if (ctx.globalHoldout > 0 && globalBucket(unit) < ctx.globalHoldout) reason = 'global_holdout'
  else if (exp.status === 'rolled_out') {
    reason = 'rolled_out'
    v = d.variants.find((x) => x.key === exp.rolledOut)
  } else if (exp.status !== 'running') reason = 'not_running'
  else if (ctx.now < p.start) reason = 'not_started'
  else if (ctx.now >= p.end) reason = 'ended'
  else if (d.targeting.segment && !ctx.isMember(d.targeting.segment, unit)) reason = 'not_targeted'
  else if (p.layerBucket && !inRange(p.layerBucket(unit), d.layer!.range)) reason = 'outside_layer'
  else
    for (let i = 0; i < p.ranges.length; i++)
      if (inRange(bucket, p.ranges[i]!)) {
        reason = 'assigned'
        v = d.variants[i]
        break
      }
  return {
    experiment: d.key,
    unit,
    inExperiment: reason === 'assigned',
    variant: v ? v.key : null,
    holdout: v ? v.holdout : false,
    bucket,
    reason,
    payload: v ? v.payload : NO_PAYLOAD,
  }
}

const inRange = (x: number, r: readonly [number, number]) => x >= r[0] && x < r[1]

const NO_PAYLOAD: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>

/** The assignment in words, for a person (the API); kept off the hot path. */
export function explainAssignment(exp: Experiment, a: Assignment, globalHoldout: number): string {
  const d = exp.definition
  switch (a.reason) {
    case 'global_holdout':
      return `in the global holdout (${pct(globalHoldout)} of all units get no journey email)`
    case 'rolled_out':
      return `rolled out: everyone gets "${exp.rolledOut}"`
    case 'not_running':
      return `the experiment is ${exp.status}`
    case 'not_started':
      return `starts ${d.schedule.start}`
    case 'ended':
      return `ended ${d.schedule.end}`
    case 'not_targeted':
      return `not in segment "${d.targeting.segment}"`
    case 'outside_layer': {
      const [from, to] = d.layer!.range
      return `layer "${d.layer!.id}" bucket ${prepare(exp).layerBucket!(a.unit).toFixed(4)} is outside this experiment's part [${from}, ${to})`
    }
    case 'outside_traffic':
      return `bucket ${a.bucket.toFixed(4)} is outside the ${pct(d.traffic)} of traffic in the experiment`
    case 'assigned': {
      const i = d.variants.findIndex((v) => v.key === a.variant)
      const [from, to] = prepare(exp).ranges[i]!
      return `bucket ${a.bucket.toFixed(4)} is in [${from.toFixed(4)}, ${to.toFixed(4)}) → "${a.variant}"${a.holdout ? ' (holdout: nothing is sent)' : ''}`
    }
  }
}

/** Two layer parts overlap (experiments in one layer must not, or they would share units). */
export function rangesOverlap(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[1] && b[0] < a[1]
}

const pct = (x: number) => `${+(x * 100).toFixed(4)} %`

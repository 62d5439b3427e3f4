import { durationMs } from '../duration.js'
import { type ComputedProperty, ENGAGEMENT_EVENTS, type Rule } from '../ruleSchema.js'
import type { Comparable } from '../../core/compareValue.js'
import { comparer, readerOf } from '../../core/compareValue.js'
import { extractBool, extractFloat, extractString, atPath, MISSING } from '../../core/jsonValue.js'

/**
 * What the live evaluator keeps per user for a set of rules: one slot per distinct behavioural
 * leaf (the times or the count of matching events, or the (time, key) pairs of a sequence side),
 * one per referenced trait and consent topic, and the all-history totals if any computed property
 * is used. Equal leaves in different segments share a slot. Pure: no I/O.
 */
export interface EventMatchSpec {
  event?: string
  type?: string
  where?: (Comparable & { path: string })[]
  /** Engagement leaves: leave out machine opens and scanner clicks (`properties.automated`). */
  excludeAutomated?: boolean
}

/** An event as the store holds it: properties are `{}` when tracking consent was withheld. */
export interface LiveEvent {
  type: string
  event: string
  name: string
  t: number
  props: unknown
}

export type Slot =
  | { kind: 'times'; match: EventMatchSpec; windowMs: number }
  | { kind: 'count'; match: EventMatchSpec; from?: number; to?: number }
  | { kind: 'pairs'; match: EventMatchSpec; lookbackMs: number; keyPath?: string }
  | { kind: 'trait'; key: string }
  | { kind: 'consent'; topic: string }

export interface PlannedSlot {
  slot: Slot
  matches?: (e: LiveEvent) => boolean
  /** For pairs: how to read the tying property. */
  keyOf?: (e: LiveEvent) => string
  /** Offsets after an event's time at which time alone can change a rule reading this slot. */
  dueAfterMs: Set<number>
}

export class FactPlan {
  readonly slots: PlannedSlot[] = []
  private readonly index = new Map<string, number>()
  totals = false
  categories = false
  readonly traitSlots = new Map<string, number>()
  readonly consentSlots = new Map<string, number>()

  constructor(readonly purchaseEvent: string) {}

  slotOf(slot: Slot): number {
    const key = JSON.stringify(slot)
    let i = this.index.get(key)
    if (i === undefined) {
      i = this.slots.push({ slot, dueAfterMs: new Set(), ...matchersOf(slot) }) - 1
      this.index.set(key, i)
      if (slot.kind === 'trait') this.traitSlots.set(slot.key, i)
      if (slot.kind === 'consent') this.consentSlots.set(slot.topic, i)
    }
    return i
  }

  /** Registers what `rule` reads; returns nothing — the evaluator asks `slotOf` again (same index). */
  add(rule: Rule): void {
    forEachLeaf(rule, (leaf) => {
      if ('computed' in leaf) {
        this.totals = true
        if (leaf.computed.property === 'favourite_category') this.categories = true
        return
      }
      const s = leafSlots(leaf)
      for (const { slot, due } of s) {
        const i = this.slotOf(slot)
        for (const d of due) this.slots[i]!.dueAfterMs.add(d)
      }
    })
  }

  get eventSlots(): number[] {
    return this.slots.flatMap((s, i) => (s.matches ? [i] : []))
  }
}

export function forEachLeaf(rule: Rule, f: (leaf: Rule) => void): void {
  if ('and' in rule) rule.and.forEach((r) => forEachLeaf(r, f))
  else if ('or' in rule) rule.or.forEach((r) => forEachLeaf(r, f))
  else if ('not' in rule) forEachLeaf(rule.not, f)
  else f(rule)
}

/** The slots a leaf reads, and when time alone can change it (offsets from an event's time). */
export function leafSlots(leaf: Rule): { slot: Slot; due: number[] }[] {
  if ('performed' in leaf || 'engagement' in leaf) {
    const { match, within, between } = countedMatch(leaf)
    if (within !== undefined) return [{ slot: { kind: 'times', match, windowMs: within }, due: [within] }]
    return [{ slot: between ? { kind: 'count', match, from: between.from, to: between.to } : { kind: 'count', match }, due: [] }]
  }
  if ('sequence' in leaf) {
    const l = leaf.sequence
    const lookbackMs = durationMs(l.lookback ?? '30d')
    const within = durationMs(l.within)
    const side = (m: EventMatchSpec) => ({
      kind: 'pairs' as const,
      match: norm(m),
      lookbackMs,
      ...(l.sameProperty ? { keyPath: l.sameProperty } : {}),
    })
    return [
      { slot: side(l.first), due: [within, lookbackMs] },
      { slot: side(l.then), due: [lookbackMs] },
    ]
  }
  if ('trait' in leaf) return [{ slot: { kind: 'trait', key: leaf.trait.key }, due: [] }]
  if ('consent' in leaf) return [{ slot: { kind: 'consent', topic: leaf.consent.topic }, due: [] }]
  return []
}

/** performed and engagement leaves are both "count of matching events in a range". */
export function countedMatch(leaf: Rule): {
  match: EventMatchSpec
  within?: number
  between?: { from: number; to: number }
  count?: { gte?: number; lte?: number }
} {
  if ('performed' in leaf) {
    const l = leaf.performed
    return {
      match: norm(l),
      ...(l.within !== undefined ? { within: durationMs(l.within) } : {}),
      ...(l.between ? { between: { from: Date.parse(l.between.from), to: Date.parse(l.between.to) } } : {}),
      ...(l.count ? { count: l.count } : {}),
    }
  }
  if ('engagement' in leaf) {
    const l = leaf.engagement
    return {
      match: { type: 'track', event: ENGAGEMENT_EVENTS[l.action], ...(l.includeAutomated ? {} : { excludeAutomated: true }) },
      ...(l.within !== undefined ? { within: durationMs(l.within) } : {}),
      ...(l.count ? { count: l.count } : {}),
    }
  }
  throw new Error('not a counted leaf')
}

function norm(m: EventMatchSpec): EventMatchSpec {
  return { type: m.type ?? 'track', ...(m.event ? { event: m.event } : {}), ...(m.where?.length ? { where: m.where } : {}) }
}

function matchersOf(slot: Slot): Pick<PlannedSlot, 'matches' | 'keyOf'> {
  if (slot.kind === 'trait' || slot.kind === 'consent') return {}
  const m = slot.match
  const type = m.type ?? 'track'
  const filters = (m.where ?? []).map((f) => {
    const path = f.path.split('.')
    const cmp = comparer(f)
    return (props: unknown): boolean => {
      const v = atPath(props, path)
      return cmp(v !== MISSING, readerOf({ string: () => extractString(v), float: () => extractFloat(v), bool: () => extractBool(v) }))
    }
  })
  const matches = (e: LiveEvent): boolean => {
    if (e.type !== type) return false
    if (m.event !== undefined && (type === 'track' ? e.event : e.name) !== m.event) return false
    // The engagement leaf's "NOT JSONExtractBool(properties, 'automated')".
    if (m.excludeAutomated && extractBool(atPath(e.props, ['automated']))) return false
    for (const f of filters) if (!f(e.props)) return false
    return true
  }
  if (slot.kind !== 'pairs') return { matches }
  const keyPath = slot.keyPath?.split('.')
  return { matches, keyOf: keyPath ? (e) => extractString(atPath(e.props, keyPath)) : () => '' }
}

export type { ComputedProperty }

import type { FactPlan, LiveEvent } from './factPlan.js'
import { atPath, extractFloat, extractString, jsonHas } from './jsonValue.js'

/**
 * One user's facts, as a plan lays them out (see FactPlan): slot values by index, and the
 * all-history totals that computed properties read. `seen` = the user has events or traits,
 * which is what puts them in a segment's universe (as in the compiled SQL). Pure functions.
 */
export interface Totals {
  n: number
  first: number
  last: number
  orders: number
  sales: number
  lastOrder: number
  cats?: Map<string, number>
}

/** times: number[] · count: number · pairs: [time, key][] · trait: [json text, at] · consent: [granted, at] */
export type SlotValue = number[] | number | [number, string][] | [string, number] | [boolean, number] | undefined

export interface UserFacts {
  seen: boolean
  s: SlotValue[]
  tot?: Totals
}

export const emptyTotals = (): Totals => ({ n: 0, first: 0, last: 0, orders: 0, sales: 0, lastOrder: 0 })

export function newFacts(): UserFacts {
  return { seen: false, s: [] }
}

/** An order's value as `revenueOf` reads it: `revenue`, else `total`; unreadable counts as nothing. */
export function orderValue(props: unknown): number {
  const v = jsonHas(props, ['revenue']) ? extractFloat(atPath(props, ['revenue'])) : extractFloat(atPath(props, ['total']))
  return v ?? 0
}

/**
 * Adds one stored event. Returns the times (ms) at which time alone may change a rule that read
 * it, for the sweep's timeline.
 */
export function applyEvent(plan: FactPlan, f: UserFacts, e: LiveEvent, now: number): number[] {
  f.seen = true
  if (plan.totals) {
    const t = (f.tot ??= emptyTotals())
    t.first = t.n === 0 ? e.t : Math.min(t.first, e.t)
    t.last = t.n === 0 ? e.t : Math.max(t.last, e.t)
    t.n++
    if (e.event === plan.purchaseEvent) {
      t.lastOrder = t.orders === 0 ? e.t : Math.max(t.lastOrder, e.t)
      t.orders++
      t.sales += orderValue(e.props)
    }
    if (plan.categories) {
      const c = extractString(atPath(e.props, ['category']))
      if (c !== '') (t.cats ??= new Map()).set(c, (t.cats.get(c) ?? 0) + 1)
    }
  }
  const due: number[] = []
  for (let i = 0; i < plan.slots.length; i++) {
    const p = plan.slots[i]!
    if (!p.matches || !p.matches(e)) continue
    const slot = p.slot
    if (slot.kind === 'times') {
      const kept = ((f.s[i] as number[] | undefined) ?? []).filter((x) => x >= now - slot.windowMs)
      kept.push(e.t)
      f.s[i] = kept
    } else if (slot.kind === 'count') {
      if ((slot.from === undefined || e.t >= slot.from) && (slot.to === undefined || e.t <= slot.to)) f.s[i] = ((f.s[i] as number | undefined) ?? 0) + 1
    } else if (slot.kind === 'pairs') {
      const kept = ((f.s[i] as [number, string][] | undefined) ?? []).filter((x) => x[0] >= now - slot.lookbackMs)
      kept.push([e.t, p.keyOf!(e)])
      f.s[i] = kept
    }
    for (const d of p.dueAfterMs) if (e.t + d > now) due.push(e.t + d)
  }
  return due
}

/** The latest write wins (by its own time, as argMax over updated_at / changed_at). */
export function applyLatest(f: UserFacts, slot: number, value: string | boolean, at: number): void {
  const cur = f.s[slot] as [string | boolean, number] | undefined
  if (!cur || at >= cur[1]) f.s[slot] = [value, at] as SlotValue
}

/** When an anonymous id is linked to a user: its facts become the user's. */
export function mergeFacts(plan: FactPlan, into: UserFacts, from: UserFacts): void {
  into.seen ||= from.seen
  for (let i = 0; i < plan.slots.length; i++) {
    const a = into.s[i]
    const b = from.s[i]
    if (b === undefined) continue
    if (a === undefined) {
      into.s[i] = b
      continue
    }
    const kind = plan.slots[i]!.slot.kind
    if (kind === 'count') into.s[i] = (a as number) + (b as number)
    else if (kind === 'times' || kind === 'pairs') into.s[i] = [...(a as never[]), ...(b as never[])]
    else if ((b as [unknown, number])[1] >= (a as [unknown, number])[1]) into.s[i] = b
  }
  if (from.tot) {
    if (!into.tot) into.tot = from.tot
    else {
      const a = into.tot
      const b = from.tot
      if (b.n) {
        a.first = a.n ? Math.min(a.first, b.first) : b.first
        a.last = a.n ? Math.max(a.last, b.last) : b.last
      }
      if (b.orders) a.lastOrder = a.orders ? Math.max(a.lastOrder, b.lastOrder) : b.lastOrder
      a.n += b.n
      a.orders += b.orders
      a.sales += b.sales
      if (b.cats) for (const [k, v] of b.cats) (a.cats ??= new Map()).set(k, (a.cats.get(k) ?? 0) + v)
    }
  }
}

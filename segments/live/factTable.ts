import type { FactPlan, LiveEvent } from './factPlan.js'
import { type FactsView, RowView, type SlotValue, type Totals } from './factsView.js'
import { atPath, extractFloat, extractString, jsonHas } from '../../core/jsonValue.js'

type Column =
  | { kind: 'count'; v: Float64Array }
  | { kind: 'times'; v: Map<number, number[]> }
  | { kind: 'pairs'; v: Map<number, [number, string][]> }
  | { kind: 'trait'; v: (string | undefined)[]; at: Float64Array }
  // 0 = nothing recorded, 1 = withheld, 2 = granted
  | { kind: 'consent'; v: Uint8Array; at: Float64Array }

const TOTAL_FIELDS = ['n', 'first', 'last', 'orders', 'sales', 'lastOrder'] as const

/**
 * Which columns an operation touches. New columns (a new segment's slots) are filled from the
 * store while ingest goes on; until then live events must not touch them (`live`), and what
 * arrived meanwhile is replayed onto exactly them (`pending`).
 */
export interface ColumnRange {
  from: number
  to: number
  totals: boolean
  categories: boolean
}

/**
 * Every user's facts, column by column, laid out by a FactPlan: a row per user (an index), and
 * per slot a typed array (counts, trait times, consent) or a sparse map (the times of matching
 * events, the (time, key) pairs of a sequence side — most users have none). Columns, not an
 * object per user: a million users fit in a few hundred megabytes instead of a few gigabytes.
 * `seen` = the user has events or traits, which puts them in a segment's universe (as in SQL).
 * Pure: no I/O.
 */
export class FactTable {
  private readonly index = new Map<string, number>()
  private keys: (string | undefined)[] = []
  private capacity = 1024
  private seenCol = new Uint8Array(this.capacity)
  private tot: Record<(typeof TOTAL_FIELDS)[number], Float64Array> | undefined
  private readonly cats = new Map<number, Map<string, number>>()
  private readonly cols: Column[] = []
  /** The columns live events update. */
  private live: ColumnRange = { from: 0, to: 0, totals: false, categories: false }
  /** Trait values repeat ("NO", 34): one string each. */
  private readonly interned = new Map<string, string>()

  constructor(readonly plan: FactPlan) {
    this.goLive(this.extend())
  }

  /** Allocates columns for what the plan gained since; they are not live until `goLive`. */
  extend(): ColumnRange {
    const plan = this.plan
    const range: ColumnRange = {
      from: this.cols.length,
      to: plan.slots.length,
      totals: plan.totals && !this.tot,
      categories: plan.categories && !this.live.categories,
    }
    if (range.totals) this.tot = Object.fromEntries(TOTAL_FIELDS.map((f) => [f, new Float64Array(this.capacity)])) as FactTable['tot']
    for (const { slot } of plan.slots.slice(range.from)) {
      if (slot.kind === 'count') this.cols.push({ kind: 'count', v: new Float64Array(this.capacity) })
      else if (slot.kind === 'times') this.cols.push({ kind: 'times', v: new Map() })
      else if (slot.kind === 'pairs') this.cols.push({ kind: 'pairs', v: new Map() })
      else if (slot.kind === 'trait') this.cols.push({ kind: 'trait', v: [], at: new Float64Array(this.capacity) })
      else this.cols.push({ kind: 'consent', v: new Uint8Array(this.capacity), at: new Float64Array(this.capacity) })
    }
    return range
  }

  goLive(range: ColumnRange): void {
    this.live = {
      from: 0,
      to: Math.max(this.live.to, range.to),
      totals: this.live.totals || range.totals,
      categories: this.live.categories || range.categories,
    }
  }

  /** Everything, live or not (a whole table being built). */
  get all(): ColumnRange {
    return { from: 0, to: this.cols.length, totals: this.tot !== undefined, categories: this.plan.categories }
  }

  isLive(slot: number): boolean {
    return slot < this.live.to
  }

  get size(): number {
    return this.index.size
  }

  has(user: string): boolean {
    return this.index.has(user)
  }

  /** The user's row, created if new. */
  row(user: string): number {
    let i = this.index.get(user)
    if (i === undefined) {
      i = this.keys.length
      if (i >= this.capacity) this.grow()
      this.keys.push(user)
      this.index.set(user, i)
    }
    return i
  }

  markSeen(i: number): void {
    this.seenCol[i] = 1
  }

  /** Users in a segment's universe. */
  *universe(): IterableIterator<string> {
    for (let i = 0; i < this.keys.length; i++) if (this.seenCol[i]) yield this.keys[i]!
  }

  /** Every user in the universe with their facts, in row order (no lookups). */
  forEachSeen(f: (user: string, view: FactsView) => void): void {
    const view = new RowView(this, 0)
    for (let i = 0; i < this.keys.length; i++)
      if (this.seenCol[i]) {
        view.i = i
        f(this.keys[i]!, view)
      }
  }

  view(user: string): FactsView | undefined {
    const i = this.index.get(user)
    return i === undefined ? undefined : this.viewAt(i)
  }

  private viewAt(i: number): FactsView {
    return new RowView(this, i)
  }

  /** @internal (RowView) */
  slotValue(i: number, s: number): SlotValue {
    const c = this.cols[s]!
    switch (c.kind) {
      case 'count':
        return c.v[i] || undefined
      case 'times':
      case 'pairs':
        return c.v.get(i)
      case 'trait': {
        const v = c.v[i]
        return v === undefined ? undefined : [v, c.at[i]!]
      }
      case 'consent':
        return c.v[i] ? [c.v[i] === 2, c.at[i]!] : undefined
    }
  }

  /** @internal (RowView) */
  isSeen(i: number): boolean {
    return this.seenCol[i] === 1
  }

  /** @internal (RowView) */
  totalsOf(i: number): Totals | undefined {
    const t = this.tot
    if (!t || !t.n[i]) return undefined
    const out: Totals = {
      n: t.n[i]!,
      first: t.first[i]!,
      last: t.last[i]!,
      orders: t.orders[i]!,
      sales: t.sales[i]!,
      lastOrder: t.lastOrder[i]!,
    }
    const cats = this.cats.get(i)
    if (cats) out.cats = cats
    return out
  }

  // ── writes ─────────────────────────────────────────────────────────────────────────────────

  setTotals(i: number, t: Omit<Totals, 'cats'>): void {
    if (!this.tot) return
    for (const f of TOTAL_FIELDS) this.tot[f][i] = t[f]
  }

  setCategories(i: number, cats: Map<string, number>): void {
    if (cats.size) this.cats.set(i, cats)
  }

  setCount(i: number, s: number, n: number): void {
    ;(this.cols[s] as { v: Float64Array }).v[i] = n
  }

  setList(i: number, s: number, list: number[] | [number, string][]): void {
    const c = this.cols[s] as { v: Map<number, unknown> }
    if (list.length) c.v.set(i, list)
    else c.v.delete(i)
  }

  /** The latest write wins, by its own time (argMax over updated_at / changed_at). */
  setLatest(i: number, s: number, value: string | boolean, at: number): void {
    const c = this.cols[s]!
    if (c.kind === 'trait') {
      if (c.v[i] !== undefined && at < c.at[i]!) return
      const text = value as string
      let shared = this.interned.get(text)
      if (shared === undefined) this.interned.set(text, (shared = text))
      c.v[i] = shared
      c.at[i] = at
    } else if (c.kind === 'consent') {
      if (c.v[i] && at < c.at[i]!) return
      c.v[i] = value ? 2 : 1
      c.at[i] = at
    }
  }

  /**
   * Adds one stored event to row `i`. Returns the times (ms) at which time alone may change a
   * rule that read it, for the sweep's timeline.
   */
  addEvent(i: number, e: LiveEvent, now: number, only: ColumnRange = this.live): number[] {
    const plan = this.plan
    this.seenCol[i] = 1
    if (this.tot && only.totals) {
      const t = this.tot
      const first = t.n[i] === 0
      t.first[i] = first ? e.t : Math.min(t.first[i]!, e.t)
      t.last[i] = first ? e.t : Math.max(t.last[i]!, e.t)
      t.n[i]!++
      if (e.event === plan.purchaseEvent) {
        t.lastOrder[i] = t.orders[i] === 0 ? e.t : Math.max(t.lastOrder[i]!, e.t)
        t.orders[i]!++
        t.sales[i]! += orderValue(e.props)
      }
    }
    if (only.categories) {
      const c = extractString(atPath(e.props, ['category']))
      if (c !== '') {
        let m = this.cats.get(i)
        if (!m) this.cats.set(i, (m = new Map()))
        m.set(c, (m.get(c) ?? 0) + 1)
      }
    }
    const due: number[] = []
    for (let s = only.from; s < only.to; s++) {
      const p = plan.slots[s]!
      if (!p.matches || !p.matches(e)) continue
      const slot = p.slot
      const c = this.cols[s]!
      if (slot.kind === 'times' && c.kind === 'times') {
        const kept = (c.v.get(i) ?? []).filter((x) => x >= now - slot.windowMs)
        kept.push(e.t)
        c.v.set(i, kept)
      } else if (slot.kind === 'count' && c.kind === 'count') {
        if ((slot.from === undefined || e.t >= slot.from) && (slot.to === undefined || e.t <= slot.to)) c.v[i]!++
      } else if (slot.kind === 'pairs' && c.kind === 'pairs') {
        const kept = (c.v.get(i) ?? []).filter((x) => x[0] >= now - slot.lookbackMs)
        kept.push([e.t, p.keyOf!(e)])
        c.v.set(i, kept)
      }
      for (const d of p.dueAfterMs) if (e.t + d > now) due.push(e.t + d)
    }
    return due
  }

  /** When an anonymous id is linked to a user: the id's row joins the user's, and is cleared. */
  merge(into: number, from: number): void {
    if (this.seenCol[from]) this.seenCol[into] = 1
    if (this.tot && this.tot.n[from]) {
      const t = this.tot
      const had = t.n[into]! > 0
      t.first[into] = had ? Math.min(t.first[into]!, t.first[from]!) : t.first[from]!
      t.last[into] = had ? Math.max(t.last[into]!, t.last[from]!) : t.last[from]!
      if (t.orders[from]) t.lastOrder[into] = t.orders[into] ? Math.max(t.lastOrder[into]!, t.lastOrder[from]!) : t.lastOrder[from]!
      t.n[into]! += t.n[from]!
      t.orders[into]! += t.orders[from]!
      t.sales[into]! += t.sales[from]!
      const cats = this.cats.get(from)
      if (cats) {
        let m = this.cats.get(into)
        if (!m) this.cats.set(into, (m = new Map()))
        for (const [k, v] of cats) m.set(k, (m.get(k) ?? 0) + v)
      }
    }
    this.cols.forEach((c, s) => {
      if (c.kind === 'count') c.v[into]! += c.v[from]!
      else if (c.kind === 'times' || c.kind === 'pairs') {
        const b = c.v.get(from) as unknown[] | undefined
        if (b) c.v.set(into, [...((c.v.get(into) as unknown[] | undefined) ?? []), ...b] as never)
      } else if (c.kind === 'trait') {
        const v = c.v[from]
        if (v !== undefined) this.setLatest(into, s, v, c.at[from]!)
      } else if (c.v[from]) this.setLatest(into, s, c.v[from] === 2, c.at[from]!)
    })
    this.clear(from)
  }

  /** Row `i` takes another table's facts of a user (same plan): a reload. */
  copyFrom(i: number, from: FactsView): void {
    if (from.seen) this.seenCol[i] = 1
    const t = from.totals()
    if (t) {
      this.setTotals(i, t)
      if (t.cats) this.setCategories(i, t.cats)
    }
    this.cols.forEach((c, s) => {
      const v = from.slot(s)
      if (v === undefined) return
      if (c.kind === 'count') c.v[i] = v as number
      else if (c.kind === 'times' || c.kind === 'pairs') this.setList(i, s, v as number[])
      else this.setLatest(i, s, (v as [string | boolean, number])[0], (v as [string | boolean, number])[1])
    })
  }

  /** Forgets a user entirely (erasure, or an id that joined another user). */
  remove(user: string): void {
    const i = this.index.get(user)
    if (i === undefined) return
    this.clear(i)
    this.index.delete(user)
    this.keys[i] = undefined
  }

  private clear(i: number): void {
    this.seenCol[i] = 0
    if (this.tot) for (const f of TOTAL_FIELDS) this.tot[f][i] = 0
    this.cats.delete(i)
    for (const c of this.cols) {
      if (c.kind === 'count') c.v[i] = 0
      else if (c.kind === 'times' || c.kind === 'pairs') c.v.delete(i)
      else if (c.kind === 'trait') c.v[i] = undefined
      else c.v[i] = 0
    }
  }

  private grow(): void {
    const cap = this.capacity * 2
    const widen = <T extends Float64Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap)
      b.set(a)
      return b
    }
    this.seenCol = widen(this.seenCol)
    if (this.tot) for (const f of TOTAL_FIELDS) this.tot[f] = widen(this.tot[f])
    for (const c of this.cols) {
      if (c.kind === 'count') c.v = widen(c.v)
      else if (c.kind === 'trait') c.at = widen(c.at)
      else if (c.kind === 'consent') {
        c.v = widen(c.v)
        c.at = widen(c.at)
      }
    }
    this.capacity = cap
  }
}

/** An order's value as `revenueOf` reads it: `revenue`, else `total`. */
export function orderValue(props: unknown): number {
  return jsonHas(props, ['revenue']) ? extractFloat(atPath(props, ['revenue'])) : extractFloat(atPath(props, ['total']))
}

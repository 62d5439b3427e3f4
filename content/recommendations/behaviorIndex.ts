import { productsOf } from './eventProducts.js'
import { type BehaviorEvent, ORDER_COMPLETED, PRODUCT_ADDED, PRODUCT_VIEWED } from './types.js'

/**
 * Every user's recent product behaviour, in memory, so a render reads it without a query.
 * Per user three short lists (newest first, capped): products viewed, added to the cart and
 * bought, each with its latest time and how often. Updates only ever take the max time and add
 * to counts, so replaying events in any order — or loading them from the store while new ones
 * arrive — ends in the same state (bar what the caps dropped).
 */
export interface Entry {
  id: string
  /** Epoch ms of the latest such event. */
  at: number
  /** How many such events (views; cart adds; orders containing it). */
  n: number
}

export interface UserBehavior {
  viewed: Entry[]
  added: Entry[]
  purchased: Entry[]
  /** Orders completed (in what was loaded: the last `days` of the load, plus what followed). */
  orders: number
  /** Epoch ms; undefined when no order is known. */
  lastOrderAt?: number
  lastAddAt?: number
}

export type BehaviorKind = 'viewed' | 'added' | 'purchased'

export const KIND_OF_EVENT: Record<string, BehaviorKind> = {
  [PRODUCT_VIEWED]: 'viewed',
  [PRODUCT_ADDED]: 'added',
  [ORDER_COMPLETED]: 'purchased',
}

export class BehaviorIndex {
  private readonly users = new Map<string, UserBehavior>()
  /** One string per product id: the same id in a million entries should not be a million strings. */
  private readonly ids = new Map<string, string>()

  constructor(readonly cap = 20) {}

  get size(): number {
    return this.users.size
  }

  user(userKey: string): Readonly<UserBehavior> | undefined {
    return this.users.get(userKey)
  }

  /** Stored events (an `IngestEvent[]` will do); anything but the three product events is ignored. */
  apply(events: readonly BehaviorEvent[]): void {
    for (const e of events) {
      const kind = KIND_OF_EVENT[e.event]
      if (!kind || !e.userKey) continue
      this.record(
        e.userKey,
        kind,
        productsOf(e.event, e.properties).map((s) => s.id),
        e.timestamp,
      )
    }
  }

  /** After an erasure. */
  forget(userKeys: readonly string[]): void {
    for (const k of userKeys) this.users.delete(k)
  }

  /** The user's entry rebuilt from these events alone (read from the store for them). */
  replaceUser(userKey: string, events: readonly BehaviorEvent[]): void {
    this.users.delete(userKey)
    this.apply(events.filter((e) => e.userKey === userKey))
  }

  /** One event whose product ids are already known (the loader reads them in SQL). */
  record(userKey: string, kind: BehaviorKind, productIds: readonly string[], at: number): void {
    let u = this.users.get(userKey)
    if (!u) {
      // An order without products still counts as an order; a view or add without one is nothing.
      if (kind !== 'purchased' && productIds.length === 0) return
      u = { viewed: [], added: [], purchased: [], orders: 0 }
      this.users.set(userKey, u)
    }
    if (kind === 'purchased') {
      u.orders++
      u.lastOrderAt = Math.max(u.lastOrderAt ?? at, at)
    } else if (kind === 'added' && productIds.length) u.lastAddAt = Math.max(u.lastAddAt ?? at, at)
    const list = u[kind]
    for (const id of productIds) touch(list, this.intern(id), at, this.cap)
  }

  /** Forgets entries older than `before` (the load window moves on); users left with nothing go. */
  prune(before: number): void {
    for (const [key, u] of this.users) {
      for (const kind of ['viewed', 'added', 'purchased'] as const) {
        const list = u[kind]
        while (list.length && list[list.length - 1]!.at < before) list.pop()
      }
      if (u.lastOrderAt !== undefined && u.lastOrderAt < before) {
        u.lastOrderAt = undefined
        u.orders = 0
      }
      if (u.lastAddAt !== undefined && u.lastAddAt < before) u.lastAddAt = undefined
      if (!u.viewed.length && !u.added.length && !u.purchased.length && u.lastOrderAt === undefined) this.users.delete(key)
    }
  }

  private intern(id: string): string {
    const known = this.ids.get(id)
    if (known !== undefined) return known
    this.ids.set(id, id)
    return id
  }
}

/** Counts the event and keeps the list newest first and at most `cap` long. */
export function touch(list: Entry[], id: string, at: number, cap: number): void {
  const i = list.findIndex((e) => e.id === id)
  let entry: Entry
  if (i >= 0) {
    entry = list[i]!
    entry.n++
    if (at <= entry.at) return
    entry.at = at
    list.splice(i, 1)
  } else {
    if (list.length >= cap && at < list[list.length - 1]!.at) return
    entry = { id, at, n: 1 }
  }
  // Ties go first: of two events in the same millisecond, the one applied later counts as newer.
  let j = 0
  while (j < list.length && list[j]!.at > at) j++
  list.splice(j, 0, entry)
  if (list.length > cap) list.pop()
}

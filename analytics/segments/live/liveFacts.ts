import type { ClickHouseClient } from '@clickhouse/client'
import type { RowSet } from '../../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../../ingest/types.js'
import type { Rule } from '../ruleSchema.js'
import { FactPlan, type LiveEvent } from './factPlan.js'
import { type FactsView, FactTable } from './factTable.js'
import { loadFacts, loadLinks } from './factsLoader.js'

/**
 * Every user's facts, in memory, kept current from what the ingest path stores — so a segment
 * is re-evaluated for a user without a query. Loaded from the store at start and whenever the
 * set of rules changes; updated per stored batch; a timeline says when time alone can change a
 * user's rules (the sweep reads it).
 *
 * Only one process may own it: it sees the events this process stored (see the README on scaling).
 */
export interface Touch {
  user: string
  messageId: string
  event?: IngestEvent
  /** A consent change, rather than an event. */
  consent?: boolean
}

export interface Applied {
  touched: Touch[]
  /** Users whose facts moved by a new link (the anonymous id and the user it joined). */
  relinked: string[]
  /** Users whose facts cannot be corrected in place (an id moved between two users): reload them. */
  reload: string[]
}

// Timeline buckets: coarse enough to stay small, fine enough next to a 30 s sweep.
const BUCKET_MS = 10_000

export class LiveFacts {
  private table: FactTable
  private links = new Map<string, [string, number]>()
  private timeline = new Map<number, { users: string[]; at: number[] }>()

  constructor(
    private readonly client: ClickHouseClient,
    private readonly purchaseEvent: string,
  ) {
    this.table = new FactTable(new FactPlan(purchaseEvent))
  }

  get plan(): FactPlan {
    return this.table.plan
  }

  get size(): number {
    return this.table.size
  }

  /** Loads everything the rules read, for every user. The caller keeps writes still meanwhile. */
  async rebuild(rules: Rule[], now: number): Promise<void> {
    const plan = new FactPlan(this.purchaseEvent)
    for (const r of rules) plan.add(r)
    const links = await loadLinks(this.client)
    const loaded = await loadFacts(this.client, plan, now)
    this.links = links
    this.table = loaded.table
    this.timeline = new Map()
    for (const [u, t] of loaded.due) this.schedule(u, t)
  }

  /** Reads these users' facts again from the store. The caller keeps writes still meanwhile. */
  async reload(users: string[], now: number): Promise<void> {
    const wanted = new Set(users)
    const keys = new Set(users)
    for (const [anon, [u]] of this.links) if (wanted.has(u)) keys.add(anon)
    const loaded = await loadFacts(this.client, this.plan, now, [...keys])
    for (const u of users) {
      this.table.remove(u)
      const fresh = loaded.table.view(u)
      if (fresh) this.table.copyFrom(this.table.row(u), fresh)
    }
    for (const [u, t] of loaded.due) if (wanted.has(u)) this.schedule(u, t)
  }

  canonical(key: string): string {
    return this.links.get(key)?.[0] ?? key
  }

  /** All ids of a user: their own and every id linked to them. */
  keysOf(user: string): string[] {
    const out = [user]
    for (const [anon, [u]] of this.links) if (u === user) out.push(anon)
    return out
  }

  factsOf(user: string): FactsView | undefined {
    return this.table.view(user)
  }

  /** Users in a segment's universe: anyone with events or traits. */
  universe(): IterableIterator<string> {
    return this.table.universe()
  }

  /** Takes in one stored batch: its links first (as the store's next query would see them), then rows. */
  apply(events: IngestEvent[], rows: RowSet, consent: ConsentUpdate[], now: number): Applied {
    const out: Applied = { touched: [], relinked: [], reload: [] }
    for (const link of rows.identities) this.link(link.anonymous_id, link.user_id, link.linked_at, out)
    const plan = this.plan
    events.forEach((e, i) => {
      const row = rows.events[i]!
      const user = this.canonical(e.userKey)
      const live: LiveEvent = { type: e.type, event: row.event, name: row.name, t: e.timestamp, props: row.consent_limited ? {} : e.properties }
      for (const due of this.table.addEvent(this.table.row(user), live, now)) this.schedule(user, due)
      out.touched.push({ user, messageId: e.messageId, event: e })
    })
    for (const t of rows.traits) {
      const i = this.table.row(this.canonical(t.user_key))
      this.table.markSeen(i)
      const slot = plan.traitSlots.get(t.key)
      if (slot !== undefined) this.table.setLatest(i, slot, t.value, t.updated_at)
    }
    for (const c of consent) {
      const user = this.canonical(c.userKey)
      const slot = plan.consentSlots.get(c.topic)
      if (slot !== undefined) this.table.setLatest(this.table.row(user), slot, c.granted, c.changedAt)
      out.touched.push({ user, messageId: c.messageId, consent: true })
    }
    return out
  }

  private link(anon: string, user: string, at: number, out: Applied): void {
    const prev = this.links.get(anon)
    if (prev && at < prev[1]) return // an older link: the newer one still wins
    const before = prev?.[0] ?? anon
    this.links.set(anon, [user, at])
    if (before === user) return
    if (before !== anon) {
      // The id's history moves from one user to another: only the store can split it again.
      out.reload.push(before, user)
      return
    }
    if (this.table.has(anon)) {
      this.table.merge(this.table.row(user), this.table.row(anon))
      this.table.remove(anon)
    }
    out.relinked.push(anon, user)
  }

  private schedule(user: string, at: number): void {
    const bucket = Math.floor(at / BUCKET_MS)
    const entry = this.timeline.get(bucket)
    if (entry) {
      entry.users.push(user)
      entry.at.push(at)
    } else this.timeline.set(bucket, { users: [user], at: [at] })
  }

  /** Users for whom time may have changed something by `now` (each once); later ones stay. */
  popDue(now: number): string[] {
    const out = new Set<string>()
    for (const [bucket, entry] of this.timeline) {
      if (bucket * BUCKET_MS > now) continue
      const later: typeof entry = { users: [], at: [] }
      entry.users.forEach((u, i) => {
        if (entry.at[i]! <= now) out.add(this.canonical(u))
        else {
          later.users.push(u)
          later.at.push(entry.at[i]!)
        }
      })
      if (later.users.length) this.timeline.set(bucket, later)
      else this.timeline.delete(bucket)
    }
    return [...out]
  }

  /** After an erasure. */
  forget(keys: string[]): void {
    for (const k of keys) {
      this.table.remove(k)
      this.links.delete(k)
    }
    const gone = new Set(keys)
    for (const [anon, [u]] of this.links) if (gone.has(u)) this.links.delete(anon)
  }
}

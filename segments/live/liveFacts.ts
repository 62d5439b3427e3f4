import type { ClickHouseClient } from '@clickhouse/client'
import type { RowSet } from '../../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../../ingest/types.js'
import type { Rule } from '../ruleSchema.js'
import { FactPlan, type LiveEvent } from './factPlan.js'
import { type ColumnRange, FactTable } from './factTable.js'
import type { FactsView } from './factsView.js'
import { loadFacts, loadLinks } from './factsLoader.js'

/**
 * Every user's facts, in memory, kept current from what the ingest path stores — so a segment
 * is re-evaluated for a user without a query. Loaded from the store at start; a new rule's facts
 * are loaded while ingest goes on (rows up to the last stored write batch are read, the batches
 * stored meanwhile are replayed onto the new columns: nothing missed, nothing twice). A timeline
 * says when time alone can change a user's rules (the sweep reads it).
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

/** A stored batch as it was applied, kept while a load is running so it can be replayed. */
interface Followed {
  seq: number
  events: IngestEvent[]
  rows: RowSet
  consent: ConsentUpdate[]
  /** [anonymous id, user] links that joined an id's facts to a user's. */
  merges: [string, string][]
}

// Timeline buckets: coarse enough to stay small; entries inside keep their exact time.
const BUCKET_MS = 10_000

export class LiveFacts {
  private table: FactTable
  private links = new Map<string, [string, number]>()
  private timeline = new Map<number, { users: string[]; at: number[] }>()
  private readonly following = new Set<Followed[]>()

  constructor(
    private readonly client: ClickHouseClient,
    private readonly purchaseEvent: string,
    /** The last write batch stored and announced (its listeners have run or run right now). */
    private readonly storedSeq: () => number,
  ) {
    this.table = new FactTable(new FactPlan(purchaseEvent))
  }

  get plan(): FactPlan {
    return this.table.plan
  }

  get size(): number {
    return this.table.size
  }

  /** Everything the rules read, for every user, into a new table (which then replaces this one). */
  async rebuild(rules: Rule[], now: number): Promise<void> {
    const plan = new FactPlan(this.purchaseEvent)
    for (const r of rules) plan.add(r)
    const table = new FactTable(plan)
    if (!this.links.size) this.links = await loadLinks(this.client)
    await this.loadFollowing(table, table.all, true, now)
    this.table = table
  }

  /** Adds what these rules read and the table lacks; ingest goes on meanwhile. */
  async extend(rules: Rule[], now: number): Promise<void> {
    for (const r of rules) this.plan.add(r)
    const range = this.table.extend()
    if (range.from === range.to && !range.totals && !range.categories) return
    await this.loadFollowing(this.table, range, false, now)
    this.table.goLive(range)
  }

  /**
   * Loads `range` of `table` as of the last stored batch, then replays onto it the batches stored
   * while the queries ran. The replay is synchronous: no batch can slip in between.
   */
  private async loadFollowing(table: FactTable, range: ColumnRange, universe: boolean, now: number): Promise<void> {
    const maxSeq = this.storedSeq()
    const meanwhile: Followed[] = []
    this.following.add(meanwhile)
    try {
      const due = await loadFacts(this.client, table, { range, universe, now, maxSeq })
      for (const [u, t] of due) this.schedule(u, t)
      for (const b of meanwhile) if (b.seq > maxSeq) this.applyTo(table, range, b, now)
    } finally {
      this.following.delete(meanwhile)
    }
  }

  /** Reads these users' facts again from the store. The caller holds ingest meanwhile. */
  async reload(users: string[], now: number): Promise<void> {
    const wanted = new Set(users)
    const keys = new Set(users)
    for (const [anon, [u]] of this.links) if (wanted.has(u)) keys.add(anon)
    const fresh = new FactTable(this.plan)
    const due = await loadFacts(this.client, fresh, { range: fresh.all, universe: true, now, keys: [...keys] })
    for (const u of users) {
      this.table.remove(u)
      const view = fresh.view(u)
      if (view) this.table.copyFrom(this.table.row(u), view)
    }
    for (const [u, t] of due) if (wanted.has(u)) this.schedule(u, t)
  }

  canonical(key: string): string {
    return this.links.get(key)?.[0] ?? key
  }

  factsOf(user: string): FactsView | undefined {
    return this.table.view(user)
  }

  /** Users in a segment's universe: anyone with events or traits. */
  universe(): IterableIterator<string> {
    return this.table.universe()
  }

  /** Every user in the universe with their facts; the view is only valid during the call. */
  forEachSeen(f: (user: string, view: FactsView) => void): void {
    this.table.forEachSeen(f)
  }

  /** Takes in one stored batch: its links first (as the store's next query would see them), then rows. */
  apply(events: IngestEvent[], rows: RowSet, consent: ConsentUpdate[], now: number): Applied {
    const out: Applied = { touched: [], relinked: [], reload: [] }
    const merges: [string, string][] = []
    for (const link of rows.identities) {
      const prev = this.links.get(link.anonymous_id)
      if (prev && link.linked_at < prev[1]) continue // an older link: the newer one still wins
      const before = prev?.[0] ?? link.anonymous_id
      this.links.set(link.anonymous_id, [link.user_id, link.linked_at])
      if (before === link.user_id) continue
      // An id's history moving from one user to another: only the store can split it again.
      if (before !== link.anonymous_id) out.reload.push(before, link.user_id)
      else {
        merges.push([link.anonymous_id, link.user_id])
        out.relinked.push(link.anonymous_id, link.user_id)
      }
    }
    const followed: Followed = { seq: rows.seq, events, rows, consent, merges }
    for (const f of this.following) f.push(followed)
    this.applyTo(this.table, undefined, followed, now)
    for (const e of events) out.touched.push({ user: this.canonical(e.userKey), messageId: e.messageId, event: e })
    for (const c of consent) out.touched.push({ user: this.canonical(c.userKey), messageId: c.messageId, consent: true })
    return out
  }

  /** One batch onto `table`: all live columns, or only `range` (a replay onto new columns). */
  private applyTo(table: FactTable, range: ColumnRange | undefined, b: Followed, now: number): void {
    for (const [anon, user] of b.merges)
      if (table.has(anon)) {
        table.merge(table.row(user), table.row(anon))
        table.remove(anon)
      }
    const inRange = (slot: number | undefined) => slot !== undefined && (range ? slot >= range.from && slot < range.to : table.isLive(slot))
    b.events.forEach((e, i) => {
      const row = b.rows.events[i]!
      const user = this.canonical(e.userKey)
      const live: LiveEvent = {
        type: e.type,
        event: row.event,
        name: row.name,
        t: e.timestamp,
        props: row.consent_limited ? {} : e.properties,
      }
      for (const due of table.addEvent(table.row(user), live, now, range)) this.schedule(user, due)
    })
    for (const t of b.rows.traits) {
      const i = table.row(this.canonical(t.user_key))
      table.markSeen(i)
      const slot = table.plan.traitSlots.get(t.key)
      if (inRange(slot)) table.setLatest(i, slot!, t.value, t.updated_at)
    }
    for (const c of b.consent) {
      const slot = table.plan.consentSlots.get(c.topic)
      if (inRange(slot)) table.setLatest(table.row(this.canonical(c.userKey)), slot!, c.granted, c.changedAt)
    }
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
    // Their time-driven re-evaluations, too: a timeline entry names the user.
    for (const [bucket, entry] of this.timeline) {
      if (!entry.users.some((u) => gone.has(u))) continue
      const kept: typeof entry = { users: [], at: [] }
      entry.users.forEach((u, i) => {
        if (!gone.has(u)) {
          kept.users.push(u)
          kept.at.push(entry.at[i]!)
        }
      })
      if (kept.users.length) this.timeline.set(bucket, kept)
      else this.timeline.delete(bucket)
    }
  }

  /** Whether facts, links or due re-evaluations of these ids are held (the erasure test asks). */
  knows(keys: string[]): boolean {
    const ids = new Set(keys)
    if (keys.some((k) => this.table.has(k) || this.links.has(k))) return true
    for (const [, [u]] of this.links) if (ids.has(u)) return true
    for (const entry of this.timeline.values()) if (entry.users.some((u) => ids.has(u))) return true
    return false
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import type { RowSet } from '../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import { type CompileContext, compileScoped, compileSegment } from './compile.js'
import { type ComputedContext, DEFAULT_RFM, type RfmCutoffs } from './computedSql.js'
import { LiveEvaluator, type LiveOptions } from './liveEvaluator.js'
import type { Membership } from './membership.js'
import type { MembershipStore, Transition, TransitionCause } from './membershipStore.js'
import { loadRfmCutoffs } from './rfmCutoffs.js'
import type { SegmentCatalog } from './segmentCatalog.js'
import { affectedBy } from './triggers.js'
import type { WorkQueue } from './workQueue.js'

export interface EvaluatorOptions {
  client: ClickHouseClient
  computed: Omit<ComputedContext, 'rfm'>
  consentDefaults: Record<string, boolean>
  batchMs: number
  now: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
  /**
   * Live evaluation, following the ingest writer: `storedSeq` is the last write batch it stored
   * (facts load up to it and replay what follows); `pauseWrites` holds ingest for the rare
   * re-read of a few users (an id that moved between two users).
   */
  live?: LiveOptions
}

type Listener = (t: Transition) => void

/** A stored event or consent change, by the user it concerns. */
interface Touch {
  user: string
  anonymous: boolean
  messageId: string
  event?: IngestEvent
}

/**
 * Decides membership: for the users each stored batch touched (live from facts in memory, or by
 * the compiled rule scoped to them, batched for `batchMs`), for everyone when a rule changes
 * (recompute), and follows every change into the segments built on it. Every enter/exit is
 * recorded with its time and cause, then published to listeners (journeys, metrics).
 */
export class SegmentEvaluator {
  readonly live?: LiveEvaluator
  /** When each segment was last brought up to date with time (recompute or sweep). */
  readonly currentAsOf = new Map<string, number>()
  private rfm: RfmCutoffs = DEFAULT_RFM
  private rfmAt = 0
  private readonly listeners: Listener[] = []
  private readonly evaluatedListeners: ((latenciesMs: number[]) => void)[] = []
  private pending = new Map<string, Map<string, string>>() // segment → user → triggering message id
  private pendingSince = new Map<string, number>() // message id → when the engine got it
  private pendingTimer: NodeJS.Timeout | undefined
  private flushQueued = false

  constructor(
    private readonly opts: EvaluatorOptions,
    private readonly catalog: SegmentCatalog,
    private readonly membership: Membership,
    private readonly store: MembershipStore,
    private readonly queue: WorkQueue,
  ) {
    if (opts.live)
      this.live = new LiveEvaluator(
        {
          segments: catalog.segments,
          membersOf: (id) => membership.of(id),
          transition: (...a) => this.transition(...a),
          context: () => this.context(),
          enqueue: (work) => queue.enqueue(work),
          evaluated: (ls) => this.evaluatedListeners.forEach((l) => l(ls)),
          emit: (t) => this.emit(t),
          now: () => opts.now(),
          log: opts.log,
        },
        store,
        opts.client,
        opts.computed.purchaseEvent,
        opts.live,
      )
  }

  onTransition(listener: Listener): void {
    this.listeners.push(listener)
  }

  onEvaluated(listener: (latenciesMs: number[]) => void): void {
    this.evaluatedListeners.push(listener)
  }

  /** Waits until every event seen so far has been evaluated (or, under sustained ingest, `maxRounds` rounds). */
  async idle(maxRounds: number): Promise<void> {
    // Work queues more work (an event round schedules its evaluation), so wait until none is left.
    for (let round = 0; round < maxRounds; round++) {
      if (this.pendingTimer) {
        clearTimeout(this.pendingTimer)
        this.pendingTimer = undefined
        this.queue.enqueue(() => this.flushPending())
      }
      const running = this.queue.tail
      await running
      await this.live?.settled()
      if (running === this.queue.tail && !this.pendingTimer) return
    }
  }

  /** After an erasure (on the work queue): these ids are no longer pending nor in live facts. */
  async forget(userKeys: string[]): Promise<void> {
    await this.live?.settled()
    this.live?.forget(userKeys)
    for (const users of this.pending.values()) for (const k of userKeys) users.delete(k)
  }

  knows(userKeys: string[]): boolean {
    return [...this.pending.values()].some((users) => userKeys.some((k) => users.has(k))) || this.live?.knows(userKeys) === true
  }

  /** Called with every batch the ingest path stored (with the rows as stored, for live facts). */
  handleStored(events: IngestEvent[], consent: ConsentUpdate[] = [], rows?: RowSet): void {
    if (this.live) {
      // Even with no segment yet: the facts (who exists, who is linked) must stay current.
      if (!rows) throw new Error('live segments need the stored rows')
      this.live.handleStored(events, consent, rows)
      return
    }
    if (!this.catalog.segments.size) return
    const received = this.opts.now()
    const touched: Touch[] = []
    const relinked: { user: string; previous: string; messageId: string }[] = []
    for (const e of events) {
      touched.push({ user: e.userId || e.anonymousId, anonymous: !e.userId, messageId: e.messageId, event: e })
      // A new link moves the anonymous history to the user: both ids must be looked at again.
      const previous = e.type === 'alias' ? e.previousId : e.type === 'identify' ? e.anonymousId : ''
      if (previous && e.userId && previous !== e.userId) relinked.push({ user: e.userId, previous, messageId: e.messageId })
    }
    // Consent rows are kept per id; an anonymous id that is linked counts for its user.
    for (const c of consent) touched.push({ user: c.userKey, anonymous: true, messageId: '' })
    void this.queue.enqueue(async () => {
      await this.markPending(touched, relinked, received)
      if (this.pending.size) this.schedule()
    })
  }

  /** Notes, per segment an event can affect, the canonical users to evaluate. */
  private async markPending(touched: Touch[], relinked: { user: string; previous: string; messageId: string }[], received: number) {
    const canonical = await this.store.canonicalOf([...new Set(touched.filter((x) => x.anonymous).map((x) => x.user))])
    for (const x of touched) {
      const user = (x.anonymous && canonical.get(x.user)) || x.user
      let affected = false
      for (const s of this.catalog.segments.values()) {
        if (x.event ? !affectedBy(s.triggers, x.event) : !s.triggers.consent) continue
        this.pendingFor(s.definition.id).set(user, x.messageId)
        affected = true
      }
      if (affected && x.messageId) this.pendingSince.set(x.messageId, received)
    }
    for (const r of relinked)
      for (const id of this.catalog.segments.keys()) this.pendingFor(id).set(r.user, r.messageId).set(r.previous, r.messageId)
  }

  private schedule(): void {
    if (this.opts.batchMs === 0) {
      // Group commit: evaluate as soon as the engine is free; what arrives meanwhile joins the next round.
      if (!this.flushQueued) {
        this.flushQueued = true
        void this.queue.enqueue(() => this.flushPending())
      }
    } else if (!this.pendingTimer)
      this.pendingTimer = setTimeout(() => {
        this.pendingTimer = undefined
        void this.queue.enqueue(() => this.flushPending())
      }, this.opts.batchMs)
  }

  private pendingFor(segmentId: string): Map<string, string> {
    let users = this.pending.get(segmentId)
    if (!users) this.pending.set(segmentId, (users = new Map()))
    return users
  }

  private async flushPending(): Promise<void> {
    this.flushQueued = false
    const pending = this.pending
    const since = this.pendingSince
    this.pending = new Map()
    this.pendingSince = new Map()
    // One identity lookup and one query for everyone in this round and every segment it touches.
    const ids = [...pending.keys()].filter((id) => this.catalog.has(id))
    const users = [...new Set(ids.flatMap((id) => [...pending.get(id)!.keys()]))]
    const triggers = new Map<string, string>()
    for (const id of ids) for (const [u, m] of pending.get(id)!) if (m) triggers.set(u, m)
    if (ids.length)
      await this.evaluate(ids, users, 'event', triggers).catch(async (err) => {
        // One segment failing must not stall the others: evaluate them one at a time.
        this.opts.log?.('segment round failed; evaluating segments one by one', { err: String(err) })
        for (const id of ids)
          await this.evaluate([id], [...pending.get(id)!.keys()], 'event', pending.get(id)).catch((e) =>
            this.opts.log?.('segment evaluation failed', { segment: id, err: String(e) }),
          )
      })
    if (this.evaluatedListeners.length && since.size) {
      const done = this.opts.now()
      const latencies = [...since.values()].map((t) => done - t)
      for (const l of this.evaluatedListeners) l(latencies)
    }
  }

  /** Re-evaluates these segments for these users only, in one query, and applies the changes. */
  async evaluate(ids: string[], users: string[], cause: TransitionCause, triggers?: Map<string, string>): Promise<void> {
    const byUser = await this.store.keysOfUsers(users)
    const keys = users.flatMap((u) => byUser.get(u) ?? [u])
    const q = compileScoped(
      ids.map((id) => this.catalog.find(id).definition.rule),
      this.context(),
      { users, keys },
    )
    const rows = await selectRows<Record<string, string | number>>(this.opts.client, q.sql, q.params)
    const results = new Map(ids.map((id) => [id, new Set<string>()]))
    for (const row of rows) ids.forEach((id, i) => Number(row[`s${i}`]) === 1 && results.get(id)!.add(String(row.user_key)))
    await this.applyChanges(
      ids.map((id) => ({ id, now: results.get(id)! })),
      users,
      cause,
      triggers,
    )
  }

  /** Everyone, for one segment (call on the work queue). */
  async recompute(id: string, cause: TransitionCause): Promise<Transition[]> {
    this.catalog.find(id)
    if (!this.live) return this.recomputeSql(id, cause)
    // Live: the compiled query gives membership at once, then the facts catch up (a new rule's
    // load in the background: at a million users it takes seconds, the answer must not wait).
    this.live.hold(id)
    const changes = await this.recomputeSql(id, cause)
    await this.live.afterRecompute(id, cause)
    return changes
  }

  /** Runs the compiled rule over everyone and applies the difference. */
  private async recomputeSql(id: string, cause: TransitionCause): Promise<Transition[]> {
    const s = this.catalog.find(id)
    const context = this.context()
    this.currentAsOf.set(id, context.now)
    const q = compileSegment(s.definition.rule, context)
    const now = new Set((await selectRows<{ user_key: string }>(this.opts.client, q.sql, q.params)).map((r) => r.user_key))
    const candidates = new Set([...this.membership.of(id), ...now])
    return this.applyChanges([{ id, now }], [...candidates], cause)
  }

  /** Diffs new results against current membership, records every change in one insert, publishes. */
  private async applyChanges(
    results: { id: string; now: Set<string> }[],
    candidates: string[],
    cause: TransitionCause,
    triggers?: Map<string, string>,
  ): Promise<Transition[]> {
    const at = this.opts.now()
    const changes: Transition[] = []
    for (const { id, now } of results) {
      const current = this.membership.of(id)
      for (const user of candidates) {
        const is = now.has(user)
        if (current.has(user) !== is) changes.push(this.transition(id, user, is, at, cause, triggers?.get(user) ?? ''))
      }
    }
    if (!changes.length) return changes
    await this.store.record(changes)
    for (const t of changes) this.membership.apply(t)
    for (const t of changes) this.emit(t)
    // Segments built on these may change for exactly the users that changed.
    for (const { id } of results) {
      const changed = [...new Set(changes.filter((t) => t.segmentId === id).map((t) => t.userKey))]
      if (changed.length) for (const dep of this.catalog.dependentsOf(id)) await this.evaluate([dep], changed, 'dependency')
    }
    return changes
  }

  transition(
    segmentId: string,
    userKey: string,
    entered: boolean,
    at: number,
    cause: TransitionCause,
    triggerMessageId: string,
  ): Transition {
    return { segmentId, userKey, entered, at, cause, triggerMessageId, segmentVersion: this.catalog.segments.get(segmentId)?.version ?? 0 }
  }

  /** Records decided changes and waits until they are stored and announced. */
  async commit(changes: Transition[]): Promise<void> {
    if (this.live) return this.live.commit(changes)
    await this.store.record(changes)
    for (const t of changes) this.emit(t)
  }

  private emit(t: Transition): void {
    for (const l of this.listeners) {
      try {
        l(t)
      } catch (err) {
        this.opts.log?.('segment listener failed', { err: String(err) })
      }
    }
  }

  context(): CompileContext {
    return { ...this.opts.computed, rfm: this.rfm, consentDefaults: this.opts.consentDefaults, now: this.opts.now() }
  }

  /** The RFM cut points, re-read at most hourly (or now, with `force`). Returns whether they changed. */
  async refreshRfm(force = false): Promise<boolean> {
    if (!force && this.opts.now() - this.rfmAt < 3_600_000) return false
    const before = JSON.stringify(this.rfm)
    this.rfm = await loadRfmCutoffs(this.opts.client, this.opts.computed.purchaseEvent, this.opts.now())
    this.rfmAt = this.opts.now()
    return JSON.stringify(this.rfm) !== before
  }

  get rfmCutoffs(): RfmCutoffs {
    return this.rfm
  }
}

import type { RowSet } from '../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import type { CompileContext } from './compile.js'
import { type LiveContext, type LivePredicate, compileLive } from './live/evaluateFacts.js'
import type { FactsView } from './live/factsView.js'
import { LiveFacts } from './live/liveFacts.js'
import type { MembershipStore, Transition, TransitionCause } from './membershipStore.js'
import type { StoredSegment } from './segmentCatalog.js'
import { TransitionLog } from './transitionLog.js'
import { type Triggers, affectedBy } from './triggers.js'

/**
 * Live segment evaluation: every user's facts in memory (live/), so a stored batch is evaluated
 * for the users it touched without a query, and the transitions are decided at once (recorded
 * in group commits by the TransitionLog). The engine keeps definitions and membership; this
 * decides. Facts load in the background — at start, and for each new rule — while ingest goes on;
 * a segment is decided live only once its facts are in ("ready"), and the users events touched
 * meanwhile are remembered and decided then, with their cause.
 */
export interface LiveHost {
  readonly segments: ReadonlyMap<string, StoredSegment & { triggers: Triggers }>
  membersOf(segmentId: string): Set<string>
  transition(segmentId: string, userKey: string, entered: boolean, at: number, cause: TransitionCause, triggerMessageId: string): Transition
  context(): CompileContext
  /** Runs on the engine's one-at-a-time work queue. */
  enqueue<T>(work: () => Promise<T>): Promise<T>
  /** Per event that affected a segment, the time from storage to decided. */
  evaluated(latenciesMs: number[]): void
  emit(t: Transition): void
  now(): number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

export interface LiveOptions {
  /** The last write batch the ingest writer stored (facts load up to it and replay what follows). */
  storedSeq: () => number
  /** Holds ingest for the rare re-read of a few users (an id that moved between two users). */
  pauseWrites: <T>(fn: () => Promise<T>) => Promise<T>
}

const DAY_MS = 86_400_000

export class LiveEvaluator {
  private readonly facts: LiveFacts
  private readonly log: TransitionLog
  /** Compiled rules, for the plan they were compiled against (a rebuild brings a new plan). */
  private predicates = { plan: undefined as unknown, byId: new Map<string, LivePredicate>() }
  /** Segments whose facts are loaded: only these are decided live. */
  private readonly ready = new Set<string>()
  /** For segments not ready yet: users events touched meanwhile, with the triggering message. */
  private readonly waiting = new Map<string, Map<string, [string, TransitionCause]>>()
  /** UTC day of the last full pass over day-based segments. */
  private lastFullDay = -1
  private loading: Promise<void> = Promise.resolve()

  constructor(
    private readonly host: LiveHost,
    store: MembershipStore,
    facts: ConstructorParameters<typeof LiveFacts>[0],
    purchaseEvent: string,
    private readonly opts: LiveOptions,
  ) {
    this.facts = new LiveFacts(facts, purchaseEvent, opts.storedSeq)
    this.log = new TransitionLog(store, (ts) => ts.forEach((t) => host.emit(t)), host.log)
  }

  /**
   * At start: membership as stored holds until the facts are in (seconds at a million users);
   * then everyone is evaluated — which also catches up whatever was stored but not evaluated
   * before a stop (a crash) — and events that came meanwhile keep their cause.
   */
  start(): void {
    this.inBackground(async () => {
      const loaded = [...this.host.segments.values()]
      await this.facts.rebuild(
        loaded.map((s) => s.definition.rule),
        this.host.now(),
      )
      // Only the rules read (a segment saved meanwhile waits for its own load).
      const ids = loaded.filter((s) => this.host.segments.get(s.definition.id) === s).map((s) => s.definition.id)
      for (const id of ids) this.ready.add(id)
      await this.commit(this.decideAll(ids, 'recompute'))
    })
  }

  /** Everything decided so far is stored and announced; no facts are loading. */
  async settled(): Promise<void> {
    let loading: Promise<void>
    do {
      loading = this.loading
      await loading
    } while (loading !== this.loading)
    await this.log.settled()
  }

  async close(): Promise<void> {
    await this.settled()
    await this.log.close()
  }

  /** Live decisions for the segment wait (a recompute is setting its membership). */
  hold(id: string): void {
    this.ready.delete(id)
  }

  /** A definition changed or went: its old rule must not decide anything from now on. */
  retire(id: string): void {
    this.ready.delete(id)
    this.waiting.delete(id)
    this.predicates.byId.delete(id)
  }

  /**
   * After the compiled query set a segment's membership (live decisions for it waited meanwhile,
   * so a stale result cannot overwrite a newer one): the facts catch up. A new or changed rule
   * first loads what it adds, in the background.
   */
  async afterRecompute(id: string, cause: TransitionCause): Promise<void> {
    const catchUp = async () => {
      if (!this.host.segments.has(id)) return
      this.ready.add(id)
      await this.commit(this.decideAll([id], 'recompute'))
    }
    if (cause !== 'definition') return catchUp()
    this.inBackground(async () => {
      const s = this.host.segments.get(id)
      if (!s) return
      await this.facts.extend([s.definition.rule], this.host.now())
      await catchUp()
    })
  }

  forget(userKeys: string[]): void {
    this.facts.forget(userKeys)
    for (const users of this.waiting.values()) for (const k of userKeys) users.delete(k)
  }

  knows(userKeys: string[]): boolean {
    return this.facts.knows(userKeys) || [...this.waiting.values()].some((users) => userKeys.some((k) => users.has(k)))
  }

  handleStored(events: IngestEvent[], consent: ConsentUpdate[], rows: RowSet): void {
    const received = this.host.now()
    const applied = this.facts.apply(events, rows, consent, received)
    // segment → user → [triggering message id, cause]
    const pending = new Map<string, Map<string, [string, TransitionCause]>>()
    const add = (id: string, user: string, messageId: string, cause: TransitionCause) => {
      let users = pending.get(id)
      if (!users) pending.set(id, (users = new Map()))
      if (!users.has(user) || cause === 'event') users.set(user, [messageId, cause])
    }
    const affecting: string[] = []
    for (const t of applied.touched) {
      let any = false
      for (const s of this.host.segments.values()) {
        if (t.event ? !affectedBy(s.triggers, t.event) : !s.triggers.consent) continue
        add(s.definition.id, t.user, t.messageId, t.event ? 'event' : 'consent')
        any = true
      }
      if (any && t.event) affecting.push(t.messageId)
    }
    for (const user of applied.relinked) for (const id of this.host.segments.keys()) add(id, user, '', 'event')
    const changes: Transition[] = []
    for (const [id, users] of pending) {
      if (this.ready.has(id)) changes.push(...this.decide(id, users.keys(), (u) => users.get(u)!))
      else {
        // Its facts are still loading: remember who to look at, and why, for when they are in.
        let waiting = this.waiting.get(id)
        if (!waiting) this.waiting.set(id, (waiting = new Map()))
        for (const [u, why] of users) waiting.set(u, why)
      }
    }
    this.log.add(changes)
    if (affecting.length) {
      const done = this.host.now()
      this.host.evaluated(affecting.map(() => done - received))
    }
    if (applied.reload.length) {
      const users = [...new Set(applied.reload)]
      void this.host.enqueue(async () => {
        const changes = await this.opts.pauseWrites(async () => {
          await this.facts.reload(users, this.host.now())
          return [...this.host.segments.keys()].flatMap((id) => this.decide(id, users, () => ['', 'event']))
        })
        this.log.add(changes)
      })
    }
  }

  /**
   * Windows that expired since the last sweep are on the facts' timeline, so only those users are
   * evaluated; day-based properties (days inactive, RFM) change for everyone at midnight UTC or
   * when the RFM cut points move, and get a full pass then. Returns how many segments were swept
   * incrementally.
   */
  async sweep(due: (StoredSegment & { triggers: Triggers })[], rfmMoved: boolean): Promise<number> {
    const now = this.host.now()
    const fullPass = Math.floor(now / DAY_MS) !== this.lastFullDay || rfmMoved
    const users = this.facts.popDue(now)
    const ctx = this.context()
    const changes: Transition[] = []
    let incremental = 0
    for (const s of due) {
      if (s.triggers.fullSweep && fullPass) changes.push(...this.decide(s.definition.id, 'everyone', () => ['', 'sweep'], ctx))
      else {
        changes.push(...this.decide(s.definition.id, users, () => ['', 'sweep'], ctx))
        incremental++
      }
    }
    if (fullPass) this.lastFullDay = Math.floor(now / DAY_MS)
    await this.commit(changes)
    return incremental
  }

  /** Records decided changes and waits until they are stored and announced. */
  async commit(changes: Transition[]): Promise<void> {
    this.log.add(changes)
    await this.log.settled()
  }

  /**
   * Evaluates one segment for these users from their facts, applies the changes to membership at
   * once, and follows them into the segments built on this one. Synchronous: nothing can change
   * a user's facts or membership in between.
   */
  private decide(
    id: string,
    users: Iterable<string> | 'everyone',
    why: (user: string) => [string, TransitionCause],
    ctx = this.context(),
  ): Transition[] {
    const predicate = this.predicate(id)
    if (!predicate) return []
    const members = this.host.membersOf(id)
    const changes: Transition[] = []
    const judge = (user: string, f: FactsView | undefined) => {
      const is = f?.seen === true && predicate(user, f, ctx)
      if (members.has(user) === is) return
      if (is) members.add(user)
      else members.delete(user)
      const [messageId, cause] = why(user)
      changes.push(this.host.transition(id, user, is, ctx.now, cause, messageId))
    }
    if (users === 'everyone') {
      // A pass over every row (no lookups), then the members who are no longer anyone (erased, linked).
      const before = [...members]
      this.facts.forEachSeen(judge)
      for (const user of before) if (this.facts.factsOf(user)?.seen !== true) judge(user, undefined)
    } else for (const user of users) judge(user, this.facts.factsOf(user))
    if (changes.length) {
      const changed = changes.map((t) => t.userKey)
      for (const dep of this.host.segments.values())
        if (dep.triggers.segments.has(id)) changes.push(...this.decide(dep.definition.id, changed, () => ['', 'dependency'], ctx))
    }
    return changes
  }

  /** Everyone, for these segments; what changed for a user an event touched while they waited says so. */
  private decideAll(ids: string[], cause: TransitionCause): Transition[] {
    const ctx = this.context()
    this.lastFullDay = Math.floor(ctx.now / DAY_MS)
    return ids.flatMap((id) => {
      const waiting = this.waiting.get(id)
      this.waiting.delete(id)
      return this.decide(id, 'everyone', (u) => waiting?.get(u) ?? ['', cause], ctx)
    })
  }

  private predicate(id: string): LivePredicate | undefined {
    const s = this.host.segments.get(id)
    if (!s || !this.ready.has(id)) return undefined
    const plan = this.facts.plan
    if (this.predicates.plan !== plan) this.predicates = { plan, byId: new Map() }
    let p = this.predicates.byId.get(id)
    if (!p) this.predicates.byId.set(id, (p = compileLive(s.definition.rule, plan)))
    return p
  }

  private context(): LiveContext {
    return { ...this.host.context(), isMember: (id, user) => this.host.membersOf(id).has(user) }
  }

  /** Facts load off the work queue (sweeps and saves go on), one load at a time: each extends the same table. */
  private inBackground(work: () => Promise<unknown>): void {
    this.loading = this.loading.then(work).then(
      () => undefined,
      (err) => this.host.log?.('loading segment facts failed', { err: String(err) }),
    )
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js'
import type { RowSet } from '../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import { selectRows } from '../clickhouse/store.js'
import { type CompileContext, compileScoped, compileSegment } from './compile.js'
import { computedProfile } from './computedProfile.js'
import { type ComputedContext, DEFAULT_RFM, type RfmCutoffs } from './computedSql.js'
import { MembershipStore, type StoredSegment, type Transition, type TransitionCause } from './membershipStore.js'
import { loadRfmCutoffs } from './rfmCutoffs.js'
import type { Rule, SegmentDefinition } from './ruleSchema.js'
import { type Triggers, affectedBy, triggersOf } from './triggers.js'
import { LiveEvaluator, type LiveOptions } from './liveEvaluator.js'
import { findCycle, referencedSegments, validateRule } from './validateRule.js'

/**
 * Keeps segment membership current:
 * - on each stored event, re-evaluates only the segments that event can affect, for its user only
 *   (batched for `batchMs`, so a burst costs one query per segment);
 * - a sweep revisits segments that time alone can change ("within 7 days" expiring, "no checkout
 *   within 24 h" coming true);
 * - a full recompute on demand and whenever a definition changes.
 * Every enter/exit is stored with its time and cause, then published to listeners (journeys).
 *
 * Two ways to evaluate, the same answers (a differential test holds them together):
 * - live (one process owns ingest): every user's facts are kept in memory (live/), so an event
 *   is evaluated without a query and transitions are decided in microseconds, then recorded in
 *   group commits; the sweep reads a timeline of when windows expire;
 * - SQL: the compiled rule runs scoped to the users an event touched (any number of processes,
 *   a ClickHouse server), at the cost of a query per round.
 */
export interface SegmentEngineOptions {
  client: ClickHouseClient
  computed: Omit<ComputedContext, 'rfm'>
  consentDefaults: Record<string, boolean>
  sweepIntervalMs: number
  batchMs: number
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
  /**
   * Live evaluation, following the ingest writer: `storedSeq` is the last write batch it stored
   * (facts load up to it and replay what follows); `pauseWrites` holds ingest for the rare
   * re-read of a few users (an id that moved between two users).
   */
  live?: LiveOptions
}

interface Loaded extends StoredSegment {
  triggers: Triggers
}

export interface SweepStatus {
  lastStartedAt: number | null
  lastDurationMs: number | null
  /** Upper bound on how late a time-driven change was recorded: interval between sweeps + the sweep itself. */
  lagMs: number | null
  segments: number
  /** Of those, how many were swept incrementally (only the users whose events crossed a window). */
  incremental: number
}

/** Above this many candidates a full recompute beats a scoped evaluation. */
const MAX_SWEEP_CANDIDATES = 50_000

type Listener = (t: Transition) => void

export class SegmentEngine {
  private readonly store: MembershipStore
  private readonly segments = new Map<string, Loaded>()
  private members = new Map<string, Set<string>>()
  private rfm: RfmCutoffs = DEFAULT_RFM
  private rfmAt = 0
  private readonly listeners: Listener[] = []
  private pending = new Map<string, Map<string, string>>() // segment → user → triggering message id
  private pendingSince = new Map<string, number>() // message id → when the engine got it
  private pendingTimer: NodeJS.Timeout | undefined
  private flushQueued = false
  private readonly evaluatedListeners: ((latenciesMs: number[]) => void)[] = []
  private running: Promise<void> = Promise.resolve()
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly now: () => number
  readonly sweepStatus: SweepStatus = { lastStartedAt: null, lastDurationMs: null, lagMs: null, segments: 0, incremental: 0 }
  /** When each segment was last brought up to date with time (recompute or sweep). */
  private readonly currentAsOf = new Map<string, number>()
  private readonly live?: LiveEvaluator

  constructor(private readonly opts: SegmentEngineOptions) {
    this.store = new MembershipStore(opts.client)
    this.now = opts.now ?? Date.now
    if (opts.live)
      this.live = new LiveEvaluator(
        {
          segments: this.segments,
          membersOf: (id) => {
            let set = this.members.get(id)
            if (!set) this.members.set(id, (set = new Set()))
            return set
          },
          transition: (...a) => this.transition(...a),
          context: () => this.context(),
          enqueue: (work) => this.enqueue(work),
          evaluated: (ls) => this.evaluatedListeners.forEach((l) => l(ls)),
          emit: (t) => this.emit(t),
          now: () => this.now(),
          log: opts.log,
        },
        this.store,
        opts.client,
        opts.computed.purchaseEvent,
        opts.live,
      )
  }

  /** Whether segments are evaluated from facts in memory (see the class comment). */
  get isLive(): boolean {
    return this.live !== undefined
  }

  async load(): Promise<void> {
    for (const s of await this.store.loadDefinitions())
      this.segments.set(s.definition.id, { ...s, triggers: triggersOf(s.definition.rule) })
    this.members = await this.store.loadMembers()
    await this.refreshRfm(true)
    this.live?.start()
  }

  /**
   * For a process that neither ingests nor evaluates (a scaled-mode worker): membership follows
   * what the evaluating process records, polled every `pollMs`. Journey conditions and flag
   * targeting read it; it lags by at most a poll. Definitions are not followed: they are checked
   * where journeys are saved, in an API process.
   */
  follow(pollMs: number): void {
    let since = Date.now() - 60_000 // overlap: transitions recorded while load() ran
    const tick = async () => {
      // Re-read a few seconds back each time: a transition is recorded a little after its `at`.
      // Replaying them in order is idempotent.
      for (const t of await this.store.transitionsSince(since - 5_000)) {
        let set = this.members.get(t.segment_id)
        if (!set) this.members.set(t.segment_id, (set = new Set()))
        if (Number(t.entered)) set.add(t.user_key)
        else set.delete(t.user_key)
        since = Math.max(since, Number(t.at))
      }
    }
    this.sweepTimer = setInterval(() => void tick().catch((err) => this.opts.log?.('segment follow failed', { err: String(err) })), pollMs)
    this.sweepTimer.unref()
  }

  onTransition(listener: Listener): void {
    this.listeners.push(listener)
  }

  /** Called after each incremental evaluation with, per event, the time from storage to evaluated. */
  onEvaluated(listener: (latenciesMs: number[]) => void): void {
    this.evaluatedListeners.push(listener)
  }

  start(): void {
    this.sweepTimer = setInterval(
      () => void this.sweep().catch((err) => this.opts.log?.('segment sweep failed', { err: String(err) })),
      this.opts.sweepIntervalMs,
    )
    this.sweepTimer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer)
    await this.idle()
    await this.live?.close()
  }

  /** Waits until every event seen so far has been evaluated (tests, shutdown, erasure). */
  async idle(maxRounds = Number.POSITIVE_INFINITY): Promise<void> {
    // Work queues more work (an event round schedules its evaluation), so wait until none is left
    // — or, under sustained ingest, for a bounded number of rounds.
    for (let round = 0; round < maxRounds; round++) {
      if (this.pendingTimer) {
        clearTimeout(this.pendingTimer)
        this.pendingTimer = undefined
        this.enqueue(() => this.flushPending())
      }
      const running = this.running
      await running
      await this.live?.settled()
      if (running === this.running && !this.pendingTimer) return
    }
  }

  has(id: string): boolean {
    return this.segments.has(id)
  }

  list(): (StoredSegment & { size: number })[] {
    return [...this.segments.values()].map(({ triggers: _t, ...s }) => ({ ...s, size: this.members.get(s.definition.id)?.size ?? 0 }))
  }

  get(id: string): StoredSegment & { size: number } {
    const s = this.segments.get(id)
    if (!s) throw new NotFoundError(`No segment "${id}"`)
    return { definition: s.definition, version: s.version, updatedAt: s.updatedAt, size: this.members.get(id)?.size ?? 0 }
  }

  /** The user's segments and computed properties, for the user API (and later, templates). */
  async profileOf(userKey: string, knownKeys?: string[]): Promise<{ segments: string[]; computed: Record<string, unknown> }> {
    await this.refreshRfm()
    const keys = knownKeys ?? (await this.store.keysOf([userKey]))
    return {
      segments: this.segmentsOf(userKey),
      computed: await computedProfile(this.opts.client, keys, { ...this.opts.computed, rfm: this.rfm }, this.now()),
    }
  }

  /** After an erasure: the person leaves every segment without a trace (no exit is recorded). */
  forget(userKeys: string[]): Promise<void> {
    return this.enqueue(async () => {
      await this.live?.settled()
      this.live?.forget(userKeys)
      for (const set of this.members.values()) for (const k of userKeys) set.delete(k)
      for (const users of this.pending.values()) for (const k of userKeys) users.delete(k)
    })
  }

  /** Whether membership, pending re-evaluations or live facts of these ids are held (the erasure test asks). */
  knows(userKeys: string[]): boolean {
    return (
      userKeys.some((k) => this.segmentsOf(k).length > 0) ||
      [...this.pending.values()].some((users) => userKeys.some((k) => users.has(k))) ||
      this.live?.knows(userKeys) === true
    )
  }

  isMember(segmentId: string, userKey: string): boolean {
    return this.members.get(segmentId)?.has(userKey) === true
  }

  segmentsOf(userKey: string): string[] {
    return [...this.members.entries()]
      .filter(([, m]) => m.has(userKey))
      .map(([id]) => id)
      .sort()
  }

  /** Validates a rule (shape, references, cycles) for `id`; throws a 400 naming the bad node. */
  check(id: string, input: unknown): Rule {
    const { rule, issues } = validateRule(input)
    if (!rule) throw new ValidationError(`Invalid rule: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
    for (const ref of referencedSegments(rule))
      if (!this.segments.has(ref) && ref !== id)
        throw new ValidationError(`Unknown segment "${ref}"`, [
          { path: 'rule', rule: 'reference', message: `refers to unknown segment "${ref}"` },
        ])
    const cycle = findCycle(id, rule, (other) => this.segments.get(other)?.definition.rule)
    if (cycle)
      throw new ValidationError(`Reference cycle: ${cycle.join(' → ')}`, [
        { path: 'rule', rule: 'cycle', message: `reference cycle ${cycle.join(' → ')}` },
      ])
    return rule
  }

  /**
   * Creates or replaces a definition (new version), then recomputes it and what depends on it.
   * `rule` is checked here, node by node (the HTTP layer validates only the envelope).
   */
  save(def: Omit<SegmentDefinition, 'rule'> & { rule: unknown }, mustExist?: boolean): Promise<StoredSegment & { size: number }> {
    return this.enqueue(async () => {
      if (mustExist && !this.segments.has(def.id)) throw new NotFoundError(`No segment "${def.id}"`)
      if (mustExist === false && this.segments.has(def.id))
        throw new ConflictError(`Segment "${def.id}" already exists; PUT /api/segments/${def.id} to change it`)
      const rule = this.check(def.id, def.rule)
      await this.dryRun(rule)
      // After a delete the id's history goes on: a re-created segment outranks its deletion.
      const version = (await this.store.lastVersion(def.id)) + 1
      const stored = { definition: { ...def, rule }, version, updatedAt: this.now() }
      await this.store.saveDefinition(stored.definition, version, stored.updatedAt)
      this.segments.set(def.id, { ...stored, triggers: triggersOf(rule) })
      this.live?.retire(def.id)
      await this.recomputeNow(def.id, 'definition')
      return this.get(def.id)
    })
  }

  remove(id: string): Promise<void> {
    return this.enqueue(async () => {
      const s = this.segments.get(id)
      if (!s) throw new NotFoundError(`No segment "${id}"`)
      const users = [...this.segments.values()].filter((o) => o.triggers.segments.has(id)).map((o) => o.definition.id)
      if (users.length) throw new ConflictError(`Segment "${id}" is used by ${users.join(', ')}; change those first`)
      const at = this.now()
      await this.store.saveDefinition(s.definition, s.version + 1, at, true)
      const exits = [...(this.members.get(id) ?? [])].map((userKey) => this.transition(id, userKey, false, at, 'deleted', ''))
      this.segments.delete(id)
      this.live?.retire(id)
      this.members.delete(id)
      await this.commit(exits)
    })
  }

  /**
   * Runs the compiled rule on no rows: what only the engine can refuse (a string compared with a
   * number, say) is a 400 at save time, never a broken segment later.
   */
  private async dryRun(rule: Rule): Promise<void> {
    const q = compileSegment(rule, this.context())
    await this.evaluable(() =>
      selectRows(
        this.opts.client,
        `SELECT * FROM (${q.sql.replace(/\nSETTINGS join_use_nulls = 0$/, '')}) LIMIT 0 SETTINGS join_use_nulls = 0`,
        q.params,
      ),
    )
  }

  /** Runs a query of a rule the user gave; an engine refusal is a 400 about the rule, not a 500. */
  private async evaluable<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
      throw new ValidationError(`The rule cannot be evaluated: ${message}`, [
        { path: 'rule', rule: 'evaluable', message: `cannot be evaluated: ${message}` },
      ])
    }
  }

  /** What save would check, without saving: the same rule is refused (or accepted) by both. */
  async validate(input: unknown): Promise<Rule> {
    const rule = this.check('__validate__', input)
    await this.dryRun(rule)
    return rule
  }

  /** Size and a sample of who would match, without saving anything. */
  async preview(input: unknown, sample = 20): Promise<{ size: number; sample: string[] }> {
    const rule = this.check('__preview__', input)
    await this.refreshRfm()
    const q = compileSegment(rule, this.context())
    const rows = await this.evaluable(() => selectRows<{ user_key: string }>(this.opts.client, q.sql, q.params))
    return {
      size: rows.length,
      sample: rows
        .slice(0, sample)
        .map((r) => r.user_key)
        .sort(),
    }
  }

  recompute(id: string, cause: TransitionCause = 'recompute'): Promise<Transition[]> {
    return this.enqueue(() => this.recomputeNow(id, cause))
  }

  memberPage(id: string, after: string, limit: number) {
    this.get(id)
    return this.store.members(id, after, limit)
  }

  sizeHistory(id: string, bucket: 'hour' | 'day', from: number, to: number) {
    this.get(id)
    return this.store.sizeHistory(id, bucket, from, to)
  }

  /** Called with every batch the ingest path stored (with the rows as stored, for live facts). */
  handleStored(events: IngestEvent[], consent: ConsentUpdate[] = [], rows?: RowSet): void {
    if (this.live) {
      // Even with no segment yet: the facts (who exists, who is linked) must stay current.
      if (!rows) throw new Error('live segments need the stored rows')
      this.live.handleStored(events, consent, rows)
      return
    }
    if (!this.segments.size) return
    const received = this.now()
    const byUser: { user: string; anonymous: boolean; messageId: string; event?: IngestEvent }[] = []
    const relinked: { user: string; previous: string; messageId: string }[] = []
    for (const e of events) {
      byUser.push({ user: e.userId || e.anonymousId, anonymous: !e.userId, messageId: e.messageId, event: e })
      // A new link moves the anonymous history to the user: both ids must be looked at again.
      const previous = e.type === 'alias' ? e.previousId : e.type === 'identify' ? e.anonymousId : ''
      if (previous && e.userId && previous !== e.userId) relinked.push({ user: e.userId, previous, messageId: e.messageId })
    }
    // Consent rows are kept per id; an anonymous id that is linked counts for its user.
    for (const c of consent) byUser.push({ user: c.userKey, anonymous: true, messageId: '' })
    this.enqueue(async () => {
      const anonymous = [...new Set(byUser.filter((x) => x.anonymous).map((x) => x.user))]
      const canonical = await this.store.canonicalOf(anonymous)
      for (const x of byUser) {
        const user = (x.anonymous && canonical.get(x.user)) || x.user
        let affected = false
        for (const s of this.segments.values()) {
          if (x.event ? !affectedBy(s.triggers, x.event) : !s.triggers.consent) continue
          this.pendingFor(s.definition.id).set(user, x.messageId)
          affected = true
        }
        if (affected && x.messageId) this.pendingSince.set(x.messageId, received)
      }
      for (const r of relinked)
        for (const s of this.segments.values()) this.pendingFor(s.definition.id).set(r.user, r.messageId).set(r.previous, r.messageId)
      if (!this.pending.size) return
      if (this.opts.batchMs === 0) {
        // Group commit: evaluate as soon as the engine is free; what arrives meanwhile joins the next round.
        if (!this.flushQueued) {
          this.flushQueued = true
          this.enqueue(() => this.flushPending())
        }
      } else if (!this.pendingTimer)
        this.pendingTimer = setTimeout(() => {
          this.pendingTimer = undefined
          this.enqueue(() => this.flushPending())
        }, this.opts.batchMs)
    })
  }

  private pendingFor(segmentId: string): Map<string, string> {
    let users = this.pending.get(segmentId)
    if (!users) this.pending.set(segmentId, (users = new Map()))
    return users
  }

  /** Revisits every segment that time alone can change. */
  sweep(): Promise<void> {
    return this.enqueue(async () => {
      const started = this.now()
      const previous = this.sweepStatus.lastStartedAt
      const rfmMoved = await this.refreshRfm()
      const due = [...this.segments.values()].filter((s) => s.triggers.timeDependent)
      let incremental = 0
      if (this.live) incremental = await this.live.sweep(due, rfmMoved)
      else for (const s of due) if (await this.sweepOne(s, started)) incremental++
      this.sweepDone(started, previous, due.length, incremental)
    })
  }

  /**
   * Incremental where it can be: only users with a relevant event that crossed one of the rule's
   * windows since the segment was last current. Returns whether it was incremental.
   */
  private async sweepOne(s: Loaded, now: number): Promise<boolean> {
    const id = s.definition.id
    const since = this.currentAsOf.get(id)
    const t = s.triggers
    if (since === undefined || t.fullSweep || !t.windows.size) {
      await this.recomputeNow(id, 'sweep')
      return false
    }
    const candidates = await this.store.crossedWindows(
      { events: [...t.events], types: [...t.types], anyEvent: t.anyEvent },
      [...t.windows],
      since,
      now,
      MAX_SWEEP_CANDIDATES,
    )
    if (candidates === null) {
      await this.recomputeNow(id, 'sweep')
      return false
    }
    if (candidates.length) await this.evaluate([id], candidates, 'sweep')
    this.currentAsOf.set(id, now)
    return true
  }

  private async flushPending(): Promise<void> {
    this.flushQueued = false
    const pending = this.pending
    const since = this.pendingSince
    this.pending = new Map()
    this.pendingSince = new Map()
    // One identity lookup and one query for everyone in this round and every segment it touches.
    const ids = [...pending.keys()].filter((id) => this.segments.has(id))
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
      const done = this.now()
      const latencies = [...since.values()].map((t) => done - t)
      for (const l of this.evaluatedListeners) l(latencies)
    }
  }

  /** Re-evaluates these segments for these users only, in one query, and applies the changes. */
  private async evaluate(ids: string[], users: string[], cause: TransitionCause, triggers?: Map<string, string>): Promise<void> {
    const byUser = await this.store.keysOfUsers(users)
    const keys = users.flatMap((u) => byUser.get(u) ?? [u])
    const q = compileScoped(
      ids.map((id) => this.segments.get(id)!.definition.rule),
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

  private async recomputeNow(id: string, cause: TransitionCause): Promise<Transition[]> {
    const s = this.segments.get(id)
    if (!s) throw new NotFoundError(`No segment "${id}"`)
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
    const s = this.segments.get(id)!
    const context = this.context()
    this.currentAsOf.set(id, context.now)
    const q = compileSegment(s.definition.rule, context)
    const now = new Set((await selectRows<{ user_key: string }>(this.opts.client, q.sql, q.params)).map((r) => r.user_key))
    const candidates = new Set([...(this.members.get(id) ?? []), ...now])
    return this.applyChanges([{ id, now }], [...candidates], cause)
  }

  /** Diffs new results against current membership, records every change in one insert, publishes. */
  private async applyChanges(
    results: { id: string; now: Set<string> }[],
    candidates: string[],
    cause: TransitionCause,
    triggers?: Map<string, string>,
  ): Promise<Transition[]> {
    const at = this.now()
    const changes: Transition[] = []
    for (const { id, now } of results) {
      const current = this.members.get(id) ?? new Set<string>()
      for (const user of candidates) {
        const is = now.has(user)
        if (current.has(user) !== is) changes.push(this.transition(id, user, is, at, cause, triggers?.get(user) ?? ''))
      }
    }
    if (!changes.length) return changes
    await this.store.record(changes)
    for (const t of changes) {
      let current = this.members.get(t.segmentId)
      if (!current) this.members.set(t.segmentId, (current = new Set()))
      if (t.entered) current.add(t.userKey)
      else current.delete(t.userKey)
    }
    for (const t of changes) this.emit(t)
    // Segments built on these may change for exactly the users that changed.
    for (const { id } of results) {
      const changed = [...new Set(changes.filter((t) => t.segmentId === id).map((t) => t.userKey))]
      if (!changed.length) continue
      for (const dep of this.segments.values())
        if (dep.triggers.segments.has(id)) await this.evaluate([dep.definition.id], changed, 'dependency')
    }
    return changes
  }

  private transition(
    segmentId: string,
    userKey: string,
    entered: boolean,
    at: number,
    cause: TransitionCause,
    triggerMessageId: string,
  ): Transition {
    return { segmentId, userKey, entered, at, cause, triggerMessageId, segmentVersion: this.segments.get(segmentId)?.version ?? 0 }
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

  private context(): CompileContext {
    return { ...this.opts.computed, rfm: this.rfm, consentDefaults: this.opts.consentDefaults, now: this.now() }
  }

  /** Returns whether the cut points changed. */
  private async refreshRfm(force = false): Promise<boolean> {
    if (!force && this.now() - this.rfmAt < 3_600_000) return false
    const before = JSON.stringify(this.rfm)
    this.rfm = await loadRfmCutoffs(this.opts.client, this.opts.computed.purchaseEvent, this.now())
    this.rfmAt = this.now()
    return JSON.stringify(this.rfm) !== before
  }

  private sweepDone(started: number, previous: number | null, segments: number, incremental: number): void {
    const duration = this.now() - started
    Object.assign(this.sweepStatus, {
      lastStartedAt: started,
      lastDurationMs: duration,
      lagMs: (previous === null ? this.opts.sweepIntervalMs : started - previous) + duration,
      segments,
      incremental,
    })
  }

  /** Records decided changes and waits until they are stored and announced. */
  private async commit(changes: Transition[]): Promise<void> {
    if (this.live) return this.live.commit(changes)
    await this.store.record(changes)
    for (const t of changes) this.emit(t)
  }

  /** All work runs one at a time, in arrival order: evaluations never race each other's diffs. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.running.then(work)
    this.running = result.then(
      () => undefined,
      (err) => this.opts.log?.('segment work failed', { err: String(err) }),
    )
    return result
  }
}

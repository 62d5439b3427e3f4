import type { ClickHouseClient } from '@clickhouse/client'
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js'
import type { RowSet } from '../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import { selectRows } from '../store.js'
import { type CompileContext, compileScoped, compileSegment } from './compile.js'
import { computedProfile } from './computedProfile.js'
import { type ComputedContext, DEFAULT_RFM, type RfmCutoffs } from './computedSql.js'
import { MembershipStore, type StoredSegment, type Transition, type TransitionCause } from './membershipStore.js'
import { loadRfmCutoffs } from './rfmCutoffs.js'
import type { Rule, SegmentDefinition } from './ruleSchema.js'
import { type Triggers, affectedBy, triggersOf } from './triggers.js'
import { type LiveContext, type LivePredicate, compileLive } from './live/evaluateFacts.js'
import type { FactsView } from './live/factTable.js'
import { LiveFacts } from './live/liveFacts.js'
import { TransitionLog } from './transitionLog.js'
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
  live?: { storedSeq: () => number; pauseWrites: <T>(fn: () => Promise<T>) => Promise<T> }
}

const DAY_MS = 86_400_000

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
  /** Facts loading in the background (live). */
  private loading: Promise<void> = Promise.resolve()
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly now: () => number
  readonly sweepStatus: SweepStatus = { lastStartedAt: null, lastDurationMs: null, lagMs: null, segments: 0, incremental: 0 }
  /** When each segment was last brought up to date with time (recompute or sweep). */
  private readonly currentAsOf = new Map<string, number>()
  private readonly facts?: LiveFacts
  /** Compiled rules, for the plan they were compiled against (a rebuild brings a new plan). */
  private predicates = { plan: undefined as unknown, byId: new Map<string, LivePredicate>() }
  /** Segments whose facts are loaded: only these are evaluated live. */
  private readonly ready = new Set<string>()
  /** For segments not ready yet: users events touched meanwhile, with the triggering message. */
  private readonly waiting = new Map<string, Map<string, [string, TransitionCause]>>()
  private readonly log?: TransitionLog
  /** UTC day of the last full pass over day-based segments (live). */
  private lastFullDay = -1

  constructor(private readonly opts: SegmentEngineOptions) {
    this.store = new MembershipStore(opts.client)
    this.now = opts.now ?? Date.now
    if (opts.live) {
      this.facts = new LiveFacts(opts.client, opts.computed.purchaseEvent, opts.live.storedSeq)
      this.log = new TransitionLog(this.store, (ts) => ts.forEach((t) => this.emit(t)), opts.log)
    }
  }

  /** Whether segments are evaluated from facts in memory (see the class comment). */
  get isLive(): boolean {
    return this.facts !== undefined
  }

  async load(): Promise<void> {
    for (const s of await this.store.loadDefinitions()) this.segments.set(s.definition.id, { ...s, triggers: triggersOf(s.definition.rule) })
    this.members = await this.store.loadMembers()
    await this.refreshRfm(true)
    // Live: membership as stored holds until the facts are in (seconds at a million users, so
    // in the background); then everyone is evaluated — which also catches up whatever was stored
    // but not evaluated before a stop (a crash) — and events that came meanwhile keep their cause.
    if (this.facts) this.inBackground(() => this.withFreshFacts((ids) => this.commit(this.decideAll(ids, 'recompute'))))
  }

  /**
   * Loads facts off the work queue (sweeps and saves go on), one load at a time: each extends
   * the same table.
   */
  private inBackground(work: () => Promise<unknown>): void {
    this.loading = this.loading.then(work).then(
      () => undefined,
      (err) => this.opts.log?.('loading segment facts failed', { err: String(err) }),
    )
  }

  onTransition(listener: Listener): void {
    this.listeners.push(listener)
  }

  /** Called after each incremental evaluation with, per event, the time from storage to evaluated. */
  onEvaluated(listener: (latenciesMs: number[]) => void): void {
    this.evaluatedListeners.push(listener)
  }

  start(): void {
    this.sweepTimer = setInterval(() => void this.sweep().catch((err) => this.opts.log?.('segment sweep failed', { err: String(err) })), this.opts.sweepIntervalMs)
    this.sweepTimer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer)
    await this.idle()
    await this.log?.close()
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
      const [running, loading] = [this.running, this.loading]
      await running
      await loading
      await this.log?.settled()
      if (running === this.running && loading === this.loading && !this.pendingTimer) return
    }
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
    return { segments: this.segmentsOf(userKey), computed: await computedProfile(this.opts.client, keys, { ...this.opts.computed, rfm: this.rfm }, this.now()) }
  }

  /** After an erasure: the person leaves every segment without a trace (no exit is recorded). */
  forget(userKeys: string[]): Promise<void> {
    return this.enqueue(async () => {
      await this.log?.settled()
      this.facts?.forget(userKeys)
      for (const set of this.members.values()) for (const k of userKeys) set.delete(k)
      for (const users of this.pending.values()) for (const k of userKeys) users.delete(k)
    })
  }

  segmentsOf(userKey: string): string[] {
    return [...this.members.entries()].filter(([, m]) => m.has(userKey)).map(([id]) => id).sort()
  }

  /** Validates a rule (shape, references, cycles) for `id`; throws a 400 naming the bad node. */
  check(id: string, input: unknown): Rule {
    const { rule, issues } = validateRule(input)
    if (!rule) throw new ValidationError(`Invalid rule: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
    for (const ref of referencedSegments(rule))
      if (!this.segments.has(ref) && ref !== id) throw new ValidationError(`Unknown segment "${ref}"`, [{ path: 'rule', rule: 'reference', message: `refers to unknown segment "${ref}"` }])
    const cycle = findCycle(id, rule, (other) => this.segments.get(other)?.definition.rule)
    if (cycle) throw new ValidationError(`Reference cycle: ${cycle.join(' → ')}`, [{ path: 'rule', rule: 'cycle', message: `reference cycle ${cycle.join(' → ')}` }])
    return rule
  }

  /**
   * Creates or replaces a definition (new version), then recomputes it and what depends on it.
   * `rule` is checked here, node by node (the HTTP layer validates only the envelope).
   */
  save(def: Omit<SegmentDefinition, 'rule'> & { rule: unknown }, mustExist?: boolean): Promise<StoredSegment & { size: number }> {
    return this.enqueue(async () => {
      if (mustExist && !this.segments.has(def.id)) throw new NotFoundError(`No segment "${def.id}"`)
      if (mustExist === false && this.segments.has(def.id)) throw new ConflictError(`Segment "${def.id}" already exists; PUT /api/segments/${def.id} to change it`)
      const rule = this.check(def.id, def.rule)
      await this.dryRun(rule)
      // After a delete the id's history goes on: a re-created segment outranks its deletion.
      const version = (await this.store.lastVersion(def.id)) + 1
      const stored = { definition: { ...def, rule }, version, updatedAt: this.now() }
      await this.store.saveDefinition(stored.definition, version, stored.updatedAt)
      this.segments.set(def.id, { ...stored, triggers: triggersOf(rule) })
      // The old rule must not decide anything; the new one waits for its facts.
      this.ready.delete(def.id)
      this.predicates.byId.delete(def.id)
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
      this.ready.delete(id)
      this.predicates.byId.delete(id)
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
      selectRows(this.opts.client, `SELECT * FROM (${q.sql.replace(/\nSETTINGS join_use_nulls = 0$/, '')}) LIMIT 0 SETTINGS join_use_nulls = 0`, q.params),
    )
  }

  /** Runs a query of a rule the user gave; an engine refusal is a 400 about the rule, not a 500. */
  private async evaluable<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
      throw new ValidationError(`The rule cannot be evaluated: ${message}`, [{ path: 'rule', rule: 'evaluable', message: `cannot be evaluated: ${message}` }])
    }
  }

  /** Size and a sample of who would match, without saving anything. */
  async preview(input: unknown, sample = 20): Promise<{ size: number; sample: string[] }> {
    const rule = this.check('__preview__', input)
    await this.refreshRfm()
    const q = compileSegment(rule, this.context())
    const rows = await this.evaluable(() => selectRows<{ user_key: string }>(this.opts.client, q.sql, q.params))
    return { size: rows.length, sample: rows.slice(0, sample).map((r) => r.user_key).sort() }
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
    if (this.facts) {
      // Even with no segment yet: the facts (who exists, who is linked) must stay current.
      if (!rows) throw new Error('live segments need the stored rows')
      this.handleLive(events, consent, rows)
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
    if (this.facts) return this.enqueue(() => this.sweepLive())
    return this.enqueue(async () => {
      const started = this.now()
      const previous = this.sweepStatus.lastStartedAt
      await this.refreshRfm()
      const due = [...this.segments.values()].filter((s) => s.triggers.timeDependent)
      let incremental = 0
      for (const s of due) if (await this.sweepOne(s, started)) incremental++
      const duration = this.now() - started
      Object.assign(this.sweepStatus, {
        lastStartedAt: started,
        lastDurationMs: duration,
        lagMs: (previous === null ? this.opts.sweepIntervalMs : started - previous) + duration,
        segments: due.length,
        incremental,
      })
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
    const q = compileScoped(ids.map((id) => this.segments.get(id)!.definition.rule), this.context(), { users, keys })
    const rows = await selectRows<Record<string, string | number>>(this.opts.client, q.sql, q.params)
    const results = new Map(ids.map((id) => [id, new Set<string>()]))
    for (const row of rows) ids.forEach((id, i) => Number(row[`s${i}`]) === 1 && results.get(id)!.add(String(row.user_key)))
    await this.applyChanges(ids.map((id) => ({ id, now: results.get(id)! })), users, cause, triggers)
  }

  private async recomputeNow(id: string, cause: TransitionCause): Promise<Transition[]> {
    const s = this.segments.get(id)
    if (!s) throw new NotFoundError(`No segment "${id}"`)
    if (!this.facts) return this.recomputeSql(id, cause)
    // Live: the compiled query gives membership at once (live decisions for this segment wait,
    // so a stale result cannot overwrite a newer one); then the facts catch up in memory. A new
    // or changed rule first loads what it adds — in the background, ingest going on: at a million
    // users that takes seconds, and the answer must not wait for it.
    this.ready.delete(id)
    const changes = await this.recomputeSql(id, cause)
    const catchUp = async () => {
      if (!this.segments.has(id)) return
      this.ready.add(id)
      await this.commit(this.decideAll([id], 'recompute'))
    }
    if (cause === 'definition') this.inBackground(() => this.withNewFacts(id, catchUp))
    else await catchUp()
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
  private async applyChanges(results: { id: string; now: Set<string> }[], candidates: string[], cause: TransitionCause, triggers?: Map<string, string>): Promise<Transition[]> {
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

  private transition(segmentId: string, userKey: string, entered: boolean, at: number, cause: TransitionCause, triggerMessageId: string): Transition {
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

  // ── live evaluation ────────────────────────────────────────────────────────────────────────

  /** Reads every rule's facts from the store again (ingest goes on), then runs `then`. */
  private async withFreshFacts<T>(then: (ids: string[]) => T): Promise<T> {
    const loaded = [...this.segments.values()]
    await this.facts!.rebuild(
      loaded.map((s) => s.definition.rule),
      this.now(),
    )
    // Only the rules read (a segment saved meanwhile waits for its own load).
    const ids = loaded.filter((s) => this.segments.get(s.definition.id) === s).map((s) => s.definition.id)
    for (const id of ids) this.ready.add(id)
    return then(ids)
  }

  /** Loads what segment `id`'s rule reads and the facts lack (ingest goes on), then runs `then`. */
  private async withNewFacts<T>(id: string, then: () => Promise<T>): Promise<T | undefined> {
    const s = this.segments.get(id)
    if (!s) return undefined
    await this.facts!.extend([s.definition.rule], this.now())
    return then()
  }

  private predicate(id: string): LivePredicate | undefined {
    const s = this.segments.get(id)
    if (!s || !this.ready.has(id)) return undefined
    const plan = this.facts!.plan
    if (this.predicates.plan !== plan) this.predicates = { plan, byId: new Map() }
    let p = this.predicates.byId.get(id)
    if (!p) this.predicates.byId.set(id, (p = compileLive(s.definition.rule, plan)))
    return p
  }

  private handleLive(events: IngestEvent[], consent: ConsentUpdate[], rows: RowSet): void {
    const received = this.now()
    const applied = this.facts!.apply(events, rows, consent, received)
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
      for (const s of this.segments.values()) {
        if (t.event ? !affectedBy(s.triggers, t.event) : !s.triggers.consent) continue
        add(s.definition.id, t.user, t.messageId, t.event ? 'event' : 'consent')
        any = true
      }
      if (any && t.event) affecting.push(t.messageId)
    }
    for (const user of applied.relinked) for (const id of this.segments.keys()) add(id, user, '', 'event')
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
    this.log!.add(changes)
    if (this.evaluatedListeners.length && affecting.length) {
      const done = this.now()
      for (const l of this.evaluatedListeners) l(affecting.map(() => done - received))
    }
    if (applied.reload.length) {
      const users = [...new Set(applied.reload)]
      this.enqueue(async () => {
        const changes = await this.opts.live!.pauseWrites(async () => {
          await this.facts!.reload(users, this.now())
          return [...this.segments.keys()].flatMap((id) => this.decide(id, users, () => ['', 'event']))
        })
        this.log!.add(changes)
      })
    }
  }

  /**
   * Evaluates one segment for these users from their facts, applies the changes to membership at
   * once, and follows them into the segments built on this one. Synchronous: nothing can change
   * a user's facts or membership in between.
   */
  private decide(id: string, users: Iterable<string> | 'everyone', why: (user: string) => [string, TransitionCause], ctx = this.liveContext()): Transition[] {
    const predicate = this.predicate(id)
    if (!predicate) return []
    let current = this.members.get(id)
    if (!current) this.members.set(id, (current = new Set()))
    const members = current
    const changes: Transition[] = []
    const judge = (user: string, f: FactsView | undefined) => {
      const is = f?.seen === true && predicate(user, f, ctx)
      if (members.has(user) === is) return
      if (is) members.add(user)
      else members.delete(user)
      const [messageId, cause] = why(user)
      changes.push(this.transition(id, user, is, ctx.now, cause, messageId))
    }
    if (users === 'everyone') {
      // A pass over every row (no lookups), then the members who are no longer anyone (erased, linked).
      const before = [...members]
      this.facts!.forEachSeen(judge)
      for (const user of before) if (this.facts!.factsOf(user)?.seen !== true) judge(user, undefined)
    } else for (const user of users) judge(user, this.facts!.factsOf(user))
    if (changes.length) {
      const changed = changes.map((t) => t.userKey)
      for (const dep of this.segments.values())
        if (dep.triggers.segments.has(id)) changes.push(...this.decide(dep.definition.id, changed, () => ['', 'dependency'], ctx))
    }
    return changes
  }

  /** Everyone, for these segments; what changed for a user an event touched while they waited says so. */
  private decideAll(ids: string[], cause: TransitionCause): Transition[] {
    const ctx = this.liveContext()
    this.lastFullDay = Math.floor(ctx.now / DAY_MS)
    return ids.flatMap((id) => {
      const waiting = this.waiting.get(id)
      this.waiting.delete(id)
      return this.decide(id, 'everyone', (u) => waiting?.get(u) ?? ['', cause], ctx)
    })
  }

  /**
   * Windows that expired since the last sweep are on the facts' timeline, so only those users are
   * evaluated; day-based properties (days inactive, RFM) change for everyone at midnight UTC or
   * when the RFM cut points move, and get a full pass then.
   */
  private async sweepLive(): Promise<void> {
    const started = this.now()
    const previous = this.sweepStatus.lastStartedAt
    const rfmMoved = await this.refreshRfm()
    const now = this.now()
    const fullPass = Math.floor(now / DAY_MS) !== this.lastFullDay || rfmMoved
    const due = [...this.segments.values()].filter((s) => s.triggers.timeDependent)
    const users = this.facts!.popDue(now)
    const ctx = this.liveContext()
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
    const duration = this.now() - started
    Object.assign(this.sweepStatus, {
      lastStartedAt: started,
      lastDurationMs: duration,
      lagMs: (previous === null ? this.opts.sweepIntervalMs : started - previous) + duration,
      segments: due.length,
      incremental,
    })
  }

  private liveContext(): LiveContext {
    return { ...this.context(), isMember: (id, user) => this.members.get(id)?.has(user) === true }
  }

  /** Records decided changes and waits until they are stored and announced. */
  private async commit(changes: Transition[]): Promise<void> {
    if (this.log) {
      this.log.add(changes)
      await this.log.settled()
      return
    }
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

import type { ClickHouseClient } from '@clickhouse/client'
import type { RowSet } from '../ingest/rows.js'
import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import { computedProfile } from './computedProfile.js'
import { Membership } from './membership.js'
import { MembershipStore, type Transition, type TransitionCause } from './membershipStore.js'
import type { Rule, SegmentDefinition } from './ruleSchema.js'
import { dryRun, previewRule } from './rulePreview.js'
import { SegmentCatalog, type StoredSegment } from './segmentCatalog.js'
import { type EvaluatorOptions, SegmentEvaluator } from './segmentEvaluator.js'
import { SegmentSweeper, type SweepStatus } from './segmentSweeper.js'
import { WorkQueue } from './workQueue.js'

export type { SweepStatus } from './segmentSweeper.js'

/**
 * Keeps segment membership current — the one object the process and the API hold, over three parts:
 * - the catalog (segmentCatalog.ts): definitions, versioned in ClickHouse, each rule checked;
 * - the evaluator (segmentEvaluator.ts): on each stored event, re-evaluates only the segments that
 *   event can affect, for its user only (batched for `batchMs`, so a burst costs one query per
 *   segment); a full recompute on demand and whenever a definition changes;
 * - the sweeper (segmentSweeper.ts): revisits segments that time alone can change ("within 7 days"
 *   expiring, "no checkout within 24 h" coming true).
 * Every enter/exit is stored with its time and cause, then published to listeners (journeys).
 *
 * Two ways to evaluate, the same answers (a differential test holds them together):
 * - live (one process owns ingest): every user's facts are kept in memory (live/), so an event
 *   is evaluated without a query and transitions are decided in microseconds, then recorded in
 *   group commits; the sweep reads a timeline of when windows expire;
 * - SQL: the compiled rule runs scoped to the users an event touched (any number of processes,
 *   a ClickHouse server), at the cost of a query per round.
 */
export interface SegmentEngineOptions extends Omit<EvaluatorOptions, 'now'> {
  sweepIntervalMs: number
  now?: () => number
  /**
   * Where admin previews and rule checks run: a connection of their own, so a costly preview never
   * queues membership changes behind it (the embedded engine runs one statement at a time per
   * connection). Default: `client` (fine for a ClickHouse server, which runs statements side by side).
   */
  previewClient?: ClickHouseClient
  /** A preview or check taking longer is cancelled and answered with a 503 (PreviewTimeoutError); default 10 s. */
  previewBudgetMs?: number
}

const DEFAULT_PREVIEW_BUDGET_MS = 10_000

export class SegmentEngine {
  private readonly store: MembershipStore
  /** The same tables read for admin pages (members, size history): on the preview connection. */
  private readonly adminReads: MembershipStore
  private readonly catalog: SegmentCatalog
  private readonly membership = new Membership()
  private readonly queue: WorkQueue
  private readonly evaluator: SegmentEvaluator
  private readonly sweeper: SegmentSweeper
  private readonly now: () => number
  private followTimer: NodeJS.Timeout | undefined

  constructor(private readonly opts: SegmentEngineOptions) {
    this.now = opts.now ?? Date.now
    this.store = new MembershipStore(opts.client)
    this.adminReads = new MembershipStore(opts.previewClient ?? opts.client)
    this.catalog = new SegmentCatalog(opts.client, opts.log)
    this.queue = new WorkQueue(opts.log, this.now)
    this.evaluator = new SegmentEvaluator({ ...opts, now: this.now }, this.catalog, this.membership, this.store, this.queue)
    this.sweeper = new SegmentSweeper({
      catalog: this.catalog,
      evaluator: this.evaluator,
      store: this.store,
      queue: this.queue,
      intervalMs: opts.sweepIntervalMs,
      now: this.now,
      log: opts.log,
    })
  }

  /** Whether segments are evaluated from facts in memory (see the class comment). */
  get isLive(): boolean {
    return this.evaluator.live !== undefined
  }

  /** The last sweep, with its lag as of now (a sweep due and still waiting counts while it waits). */
  get sweepStatus(): SweepStatus {
    return { ...this.sweeper.status, lagMs: this.sweeper.lagMs }
  }

  /**
   * How far behind the live path runs: how long the oldest segment work not yet finished (an event
   * round's membership changes, a sweep, a recompute) has been queued. 0 when caught up.
   */
  get queueLagMs(): number {
    return this.queue.lagMs
  }

  /**
   * Definitions, membership and the RFM cut points; then (live) every user's facts load in the
   * background — at once, or with `liveFactsLater` when the caller says (`startLiveFacts`), e.g.
   * once the process is healthy. Until a segment's facts are in, it is evaluated by its query.
   */
  async load(opts: { liveFactsLater?: boolean } = {}): Promise<void> {
    await this.catalog.load()
    await this.membership.load(this.store)
    await this.evaluator.refreshRfm(true)
    if (!opts.liveFactsLater) this.startLiveFacts()
  }

  startLiveFacts(): void {
    this.evaluator.live?.start()
  }

  /**
   * For a process that neither ingests nor evaluates (a scaled-mode worker): membership follows
   * what the evaluating process records, polled every `pollMs`. Journey conditions and flag
   * targeting read it; it lags by at most a poll. Definitions are not followed: they are checked
   * where journeys are saved, in an API process.
   */
  follow(pollMs: number): void {
    this.followTimer = this.membership.follow(this.store, pollMs, this.opts.log)
  }

  onTransition(listener: (t: Transition) => void): void {
    this.evaluator.onTransition(listener)
  }

  /** Called after each incremental evaluation with, per event, the time from storage to evaluated. */
  onEvaluated(listener: (latenciesMs: number[]) => void): void {
    this.evaluator.onEvaluated(listener)
  }

  start(): void {
    this.sweeper.start()
  }

  async stop(): Promise<void> {
    this.sweeper.stop()
    clearInterval(this.followTimer)
    await this.idle()
    await this.evaluator.live?.close()
  }

  /** Waits until every event seen so far has been evaluated (tests, shutdown, erasure). */
  idle(maxRounds = Number.POSITIVE_INFINITY): Promise<void> {
    return this.evaluator.idle(maxRounds)
  }

  has(id: string): boolean {
    return this.catalog.has(id)
  }

  list(): (StoredSegment & { size: number })[] {
    return [...this.catalog.segments.values()].map(({ triggers: _t, ...s }) => ({ ...s, size: this.membership.size(s.definition.id) }))
  }

  get(id: string): StoredSegment & { size: number } {
    const s = this.catalog.find(id)
    return { definition: s.definition, version: s.version, updatedAt: s.updatedAt, size: this.membership.size(id) }
  }

  /** The user's segments and computed properties, for the user API (and later, templates). */
  async profileOf(userKey: string, knownKeys?: string[]): Promise<{ segments: string[]; computed: Record<string, unknown> }> {
    await this.evaluator.refreshRfm()
    const keys = knownKeys ?? (await this.store.keysOf([userKey]))
    return {
      segments: this.segmentsOf(userKey),
      computed: await computedProfile(this.opts.client, keys, { ...this.opts.computed, rfm: this.evaluator.rfmCutoffs }, this.now()),
    }
  }

  /** After an erasure: the person leaves every segment without a trace (no exit is recorded). */
  forget(userKeys: string[]): Promise<void> {
    return this.queue.enqueue(async () => {
      await this.evaluator.forget(userKeys)
      this.membership.forget(userKeys)
    })
  }

  /** Whether membership, pending re-evaluations or live facts of these ids are held (the erasure test asks). */
  knows(userKeys: string[]): boolean {
    return userKeys.some((k) => this.segmentsOf(k).length > 0) || this.evaluator.knows(userKeys)
  }

  isMember(segmentId: string, userKey: string): boolean {
    return this.membership.isMember(segmentId, userKey)
  }

  segmentsOf(userKey: string): string[] {
    return this.membership.segmentsOf(userKey)
  }

  /** Validates a rule (shape, references, cycles) for `id`; throws a 400 naming the bad node. */
  check(id: string, input: unknown): Rule {
    return this.catalog.check(id, input)
  }

  /**
   * Creates or replaces a definition (new version), then recomputes it and what depends on it.
   * `rule` is checked here, node by node (the HTTP layer validates only the envelope).
   */
  save(def: Omit<SegmentDefinition, 'rule'> & { rule: unknown }, mustExist?: boolean): Promise<StoredSegment & { size: number }> {
    return this.queue.enqueue(async () => {
      this.catalog.checkSave(def.id, mustExist)
      const rule = this.catalog.check(def.id, def.rule)
      await dryRun(this.opts.client, rule, this.evaluator.context())
      await this.catalog.save({ ...def, rule }, this.now())
      this.evaluator.live?.retire(def.id)
      await this.evaluator.recompute(def.id, 'definition')
      return this.get(def.id)
    })
  }

  remove(id: string): Promise<void> {
    return this.queue.enqueue(async () => {
      this.catalog.find(id)
      const at = this.now()
      // Decided before the segment goes: the exits carry the version the members were in.
      const exits = [...this.membership.of(id)].map((userKey) => this.evaluator.transition(id, userKey, false, at, 'deleted', ''))
      await this.catalog.remove(id, at)
      this.evaluator.live?.retire(id)
      this.membership.drop(id)
      await this.evaluator.commit(exits)
    })
  }

  /** What save would check, without saving: the same rule is refused (or accepted) by both. */
  async validate(input: unknown): Promise<Rule> {
    const rule = this.check('__validate__', input)
    await dryRun(this.previewClient, rule, this.evaluator.context(), this.previewBudgetMs)
    return rule
  }

  /**
   * Size and a sample of who would match, without saving anything — off the work queue and the
   * segment connection, within a time budget (see SegmentEngineOptions.previewClient).
   */
  async preview(input: unknown, sample = 20): Promise<{ size: number; sample: string[] }> {
    const rule = this.check('__preview__', input)
    await this.evaluator.refreshRfm()
    return previewRule(this.previewClient, rule, this.evaluator.context(), sample, this.previewBudgetMs)
  }

  private get previewClient(): ClickHouseClient {
    return this.opts.previewClient ?? this.opts.client
  }

  private get previewBudgetMs(): number {
    return this.opts.previewBudgetMs ?? DEFAULT_PREVIEW_BUDGET_MS
  }

  recompute(id: string, cause: TransitionCause = 'recompute'): Promise<Transition[]> {
    return this.queue.enqueue(() => this.evaluator.recompute(id, cause))
  }

  memberPage(id: string, after: string, limit: number) {
    this.get(id)
    return this.adminReads.members(id, after, limit)
  }

  sizeHistory(id: string, bucket: 'hour' | 'day', from: number, to: number) {
    this.get(id)
    return this.adminReads.sizeHistory(id, bucket, from, to)
  }

  /** Called with every batch the ingest path stored (with the rows as stored, for live facts). */
  handleStored(events: IngestEvent[], consent: ConsentUpdate[] = [], rows?: RowSet): void {
    this.evaluator.handleStored(events, consent, rows)
  }

  /** Revisits every segment that time alone can change. */
  sweep(): Promise<void> {
    return this.sweeper.sweep()
  }
}

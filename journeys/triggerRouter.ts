import type { ConsentUpdate, IngestEvent } from '../ingest/types.js'
import { boundedMessageId } from '../core/boundedId.js'
import { pushTo } from '../core/multimap.js'
import type { JourneyDefinition } from './journeySchema.js'
import { type JourneyEvent, correlationOf, matchesFilters } from './matchEvent.js'
import type { StoredJourney } from './journeyService.js'

/** What the router needs of Temporal (workflows/client/journeyRuns.ts) — an interface so it can be tested alone. */
export interface RunPort {
  start(
    journey: JourneyDefinition,
    version: number,
    userKey: string,
    trigger: JourneyEvent,
    opts: { correlation?: string; test: boolean },
  ): Promise<unknown>
  signalEvent(workflowId: string, event: JourneyEvent): Promise<boolean>
  signalExit(workflowId: string, reason: string): Promise<boolean>
  openRuns(userKey: string, journeyId?: string): Promise<{ workflowId: string; journeyId: string }[]>
}

export interface RouterOptions {
  runs: RunPort
  journeys: () => StoredJourney[]
  runId: (journeyId: string, userKey: string, correlation?: string) => string
  isGranted: (userKey: string, topic: string) => boolean
  isTestUser: (userKey: string) => boolean
  /**
   * Whether something of this user timestamped `at` belongs to an erased person (their tombstone):
   * asked when the start is made, so a trigger stored just before an erasure starts no run after it.
   */
  isErased?: (userKey: string, at: number) => boolean
  /** Most Temporal calls in flight at once. */
  concurrency?: number
  /**
   * A trigger event older than this when it arrives starts no run (a replayed or back-filled
   * "Product Added" from last month must not send a cart reminder today). Follow-up events still
   * reach running runs. Undefined: no limit.
   */
  maxTriggerAgeMs?: number
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

interface Index {
  /** Journeys started by an event name. */
  byTrigger: Map<string, StoredJourney[]>
  bySegmentEntry: Map<string, StoredJourney[]>
  bySegmentExit: Map<string, StoredJourney[]>
  /** Journeys whose runs follow events by correlation key (any event name). */
  correlated: StoredJourney[]
  /** Event name → journeys whose runs wait for it or exit on it, by user. */
  byUserEvent: Map<string, StoredJourney[]>
  /** Segment → journeys whose runs exit when the user leaves it. */
  exitOnSegment: Map<string, StoredJourney[]>
  byConsentTopic: Map<string, StoredJourney[]>
}

/**
 * Turns what was stored into journey runs: trigger events start (or signal) a run; follow-up
 * events reach running runs by correlation key — whatever their name — or by user; opt-outs and
 * segment exits end runs at once. Runs only ever hear of events the store has (the writer calls
 * this after a batch is stored). Decisions are local; Temporal calls go through a bounded queue
 * and are retried, so a slow server delays runs but never drops a trigger.
 */
export class TriggerRouter {
  private index: Index = emptyIndex()
  private readonly queue: { task: () => Promise<void>; seq: number }[] = []
  private inFlight = 0
  private idleWaiters: (() => void)[] = []
  private readonly now: () => number
  routed = 0
  failed = 0
  /** Calls Temporal refused as invalid (dropped, not retried; see `attempt`). */
  rejected = 0
  /** Triggers too old when they arrived to start a run (see `maxTriggerAgeMs`). */
  staleTriggers = 0
  /** Starts not made because their user was erased meanwhile (see `isErased`). */
  erasedTriggers = 0
  private currentSeq = 0
  private watermark = 0
  private readonly seqs: number[] = []
  private readonly open = new Map<number, number>()
  private readonly observers: ((kind: 'start' | 'signal' | 'exit', ms: number, userKey?: string) => void)[] = []

  constructor(private readonly opts: RouterOptions) {
    this.now = opts.now ?? Date.now
    this.reindex()
  }

  /** Rebuilds the lookup tables from the current journeys (call on every definition change). */
  reindex(): void {
    const ix = emptyIndex()
    for (const j of this.opts.journeys()) {
      const d = j.definition
      // Runs of paused or archived journeys still run to their end: they keep hearing events.
      if (j.status === 'active') {
        if (d.trigger.type === 'event') pushTo(ix.byTrigger, d.trigger.event, j)
        if (d.trigger.type === 'segment_entry') pushTo(ix.bySegmentEntry, d.trigger.segment, j)
        if (d.trigger.type === 'segment_exit') pushTo(ix.bySegmentExit, d.trigger.segment, j)
      }
      if (j.status === 'draft') continue
      if (d.entry.correlationKey) ix.correlated.push(j)
      const userEvents = new Set<string>()
      for (const x of d.exit) {
        if (x.type === 'event' && x.match === 'user') userEvents.add(x.event)
        if (x.type === 'segment_exit') pushTo(ix.exitOnSegment, x.segment, j)
      }
      for (const s of d.steps) if (s.type === 'wait' && s.for.match === 'user') userEvents.add(s.for.event)
      for (const e of userEvents) pushTo(ix.byUserEvent, e, j)
      pushTo(ix.byConsentTopic, d.entry.consent, j)
    }
    this.index = ix
  }

  /**
   * The writer's stored-batch listener. `seq` is the batch's number: once every Temporal call a
   * batch caused has finished (and every earlier batch's), `routedSeq` moves past it — what a
   * restart replays from.
   */
  handleStored(events: readonly IngestEvent[], consent: readonly ConsentUpdate[], seq = 0, skipStarts?: ReadonlySet<string>): void {
    this.currentSeq = seq
    if (seq) {
      this.seqs.push(seq)
      this.open.set(seq, (this.open.get(seq) ?? 0) + 1)
    }
    try {
      for (const e of events) this.routeEvent(e, skipStarts)
      for (const c of consent) if (!c.granted) this.exitUser(c.userKey, `opt_out:${c.topic}`, this.index.byConsentTopic.get(c.topic) ?? [])
    } finally {
      this.currentSeq = 0
      if (seq) this.settle(seq)
    }
  }

  /** The newest batch whose routing (and every earlier batch's) is complete. */
  get routedSeq(): number {
    return this.watermark
  }

  /** Starts from a known point (what the store says was routed before a restart). */
  resumeFrom(seq: number): void {
    this.watermark = Math.max(this.watermark, seq)
  }

  private settle(seq: number): void {
    const left = (this.open.get(seq) ?? 1) - 1
    if (left > 0) return void this.open.set(seq, left)
    this.open.delete(seq)
    while (this.seqs.length && !this.open.has(this.seqs[0]!)) this.watermark = Math.max(this.watermark, this.seqs.shift()!)
  }

  /** The segment engine's transition listener. */
  handleTransitions(ts: readonly { segmentId: string; userKey: string; entered: boolean; at: number; triggerMessageId?: string }[]): void {
    for (const t of ts) {
      const starts = (t.entered ? this.index.bySegmentEntry : this.index.bySegmentExit).get(t.segmentId) ?? []
      const trigger: JourneyEvent = {
        messageId: boundedMessageId(`segment:${t.segmentId}:${t.entered ? 'entered' : 'exited'}:${t.userKey}:${t.at}`),
        event: t.entered ? 'Segment Entered' : 'Segment Exited',
        type: 'segment',
        userKey: t.userKey,
        properties: { segment: t.segmentId, ...(t.triggerMessageId ? { causeMessageId: t.triggerMessageId } : {}) },
        timestamp: t.at,
        receivedAt: t.at,
      }
      for (const j of starts) this.start(j, trigger, undefined)
      if (!t.entered) this.exitUser(t.userKey, `left_segment:${t.segmentId}`, this.index.exitOnSegment.get(t.segmentId) ?? [])
    }
  }

  private routeEvent(e: IngestEvent, skipStarts?: ReadonlySet<string>): void {
    if (!e.userKey) return
    if (
      this.opts.maxTriggerAgeMs !== undefined &&
      e.receivedAt - e.timestamp > this.opts.maxTriggerAgeMs &&
      this.index.byTrigger.has(e.type === 'track' ? e.event : e.type)
    )
      this.staleTriggers++
    const je = toJourneyEvent(e)
    const name = je.event
    const started = new Set<string>()
    const stale = this.opts.maxTriggerAgeMs !== undefined && e.receivedAt - e.timestamp > this.opts.maxTriggerAgeMs
    for (const j of stale ? [] : (this.index.byTrigger.get(name) ?? [])) {
      const d = j.definition
      if (d.trigger.type !== 'event' || !matchesFilters(e.properties, d.trigger.where)) continue
      const correlation = correlationOf(e.properties, d.entry.correlationKey)
      if (d.entry.correlationKey && correlation === undefined) continue // nothing to correlate by
      if (!this.opts.isGranted(e.userKey, d.entry.consent)) continue
      started.add(this.opts.runId(d.id, e.userKey, correlation))
      // A replay after a restart: runs this trigger already started (and recorded) are not started again.
      if (!skipStarts?.has(e.messageId)) this.start(j, je, correlation)
    }
    for (const j of this.index.correlated) {
      const correlation = correlationOf(e.properties, j.definition.entry.correlationKey)
      if (correlation === undefined) continue
      const id = this.opts.runId(j.definition.id, e.userKey, correlation)
      if (!started.has(id)) this.signal(id, je)
    }
    for (const j of this.index.byUserEvent.get(name) ?? []) {
      if (j.definition.entry.correlationKey) {
        // A user-level event for runs keyed by something else: ask Temporal which are open.
        const t0 = this.now()
        this.enqueue(async () => {
          for (const r of await this.opts.runs.openRuns(e.userKey, j.definition.id))
            if (!started.has(r.workflowId)) await this.opts.runs.signalEvent(r.workflowId, je)
          this.routed_('signal', this.now() - t0)
        })
      } else {
        const id = this.opts.runId(j.definition.id, e.userKey)
        if (!started.has(id)) this.signal(id, je)
      }
    }
  }

  private start(j: StoredJourney, trigger: JourneyEvent, correlation: string | undefined): void {
    const t0 = this.now()
    const test = this.opts.isTestUser(trigger.userKey)
    this.enqueue(async () => {
      if (this.opts.isErased?.(trigger.userKey, trigger.timestamp)) {
        this.erasedTriggers++
        return
      }
      await this.opts.runs.start(j.definition, j.version, trigger.userKey, trigger, {
        ...(correlation !== undefined ? { correlation } : {}),
        test,
      })
      this.routed_('start', this.now() - t0, trigger.userKey)
    })
  }

  private signal(workflowId: string, e: JourneyEvent): void {
    const t0 = this.now()
    this.enqueue(async () => {
      if (await this.opts.runs.signalEvent(workflowId, e)) this.routed_('signal', this.now() - t0)
    })
  }

  /** Ends the user's open runs of these journeys (opt-out, left a segment). */
  private exitUser(userKey: string, reason: string, journeys: StoredJourney[]): void {
    if (!journeys.length) return
    const ids = new Set(journeys.map((j) => j.definition.id))
    const t0 = this.now()
    this.enqueue(async () => {
      for (const r of await this.opts.runs.openRuns(userKey))
        if (ids.has(r.journeyId)) await this.opts.runs.signalExit(r.workflowId, reason)
      this.routed_('exit', this.now() - t0)
    })
  }

  /** Observes each routed call: kind, stored → accepted by Temporal (ms), user (metrics, the benchmark). */
  observe(fn: (kind: 'start' | 'signal' | 'exit', ms: number, userKey?: string) => void): void {
    this.observers.push(fn)
  }

  private routed_(kind: 'start' | 'signal' | 'exit', ms: number, userKey?: string): void {
    for (const o of this.observers) o(kind, ms, userKey)
  }

  /** Resolves when every queued Temporal call has finished (tests, shutdown); once stopped, the in-flight ones. */
  async idle(): Promise<void> {
    if (!this.inFlight && (this.stopped || !this.queue.length)) return
    await new Promise<void>((r) => this.idleWaiters.push(r))
  }

  private stopped = false
  private readonly wakers = new Set<() => void>()

  /**
   * Shutdown: no further Temporal calls. Calls in flight finish (or, failing, are not retried);
   * queued ones are dropped and their batches never count as routed, so `routedSeq` stays before
   * them and a restart routes them again from the store. Returns how many were dropped.
   */
  stop(): number {
    this.stopped = true
    const dropped = this.queue.length
    this.queue.length = 0
    for (const wake of [...this.wakers]) wake()
    if (!this.inFlight) for (const w of this.idleWaiters.splice(0)) w()
    return dropped
  }

  get depth(): number {
    return this.queue.length + this.inFlight
  }

  private enqueue(task: () => Promise<void>): void {
    const seq = this.currentSeq
    if (seq) this.open.set(seq, (this.open.get(seq) ?? 0) + 1)
    this.queue.push({ task, seq })
    this.pump()
  }

  private pump(): void {
    const limit = this.opts.concurrency ?? 32
    while (!this.stopped && this.inFlight < limit && this.queue.length) {
      const { task, seq } = this.queue.shift()!
      this.inFlight++
      void this.attempt(task).then((done) => {
        // A call given up at shutdown leaves its batch unrouted (routed again after a restart).
        if (done && seq) this.settle(seq)
        this.inFlight--
        if (done) this.routed++
        this.pump()
        if (!this.inFlight && (this.stopped || !this.queue.length)) for (const w of this.idleWaiters.splice(0)) w()
      })
    }
    if (this.stopped) this.queue.length = 0
  }

  /**
   * Retries with back-off until it succeeds: Temporal being unavailable must not cost a trigger.
   * A call Temporal refuses as invalid (a value it cannot take) is not retried: it would fail the
   * same way forever and hold back `routedSeq` behind it. It is counted and logged instead (true:
   * the call is done with). False: given up because the router stopped.
   */
  private async attempt(task: () => Promise<void>): Promise<boolean> {
    let delay = 200
    for (let i = 1; ; i++) {
      try {
        await task()
        return true
      } catch (err) {
        if (isInvalidArgument(err)) {
          this.rejected++
          this.opts.log?.('journey routing refused by Temporal as invalid; not retried', { err: String(err) })
          return true
        }
        if (this.stopped) return false
        if (i % 8 === 0) {
          this.failed++
          this.opts.log?.('journey routing keeps failing; retrying', { err: String(err), attempts: i })
        }
        // A back-off ends early when the router stops (shutdown must not wait up to 30 s on it).
        await new Promise<void>((r) => {
          const t = setTimeout(() => done(), delay)
          const done = () => (clearTimeout(t), this.wakers.delete(done), r())
          this.wakers.add(done)
        })
        if (this.stopped) return false
        delay = Math.min(delay * 2, 30_000)
      }
    }
  }
}

/** gRPC status INVALID_ARGUMENT, on the error or its causes (the Temporal client wraps it in a ServiceError). */
const GRPC_INVALID_ARGUMENT = 3
function isInvalidArgument(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if ((e as { code?: unknown }).code === GRPC_INVALID_ARGUMENT && 'details' in e) return true
  return false
}

export function toJourneyEvent(e: IngestEvent): JourneyEvent {
  return {
    messageId: e.messageId,
    event: e.type === 'track' ? e.event : e.type,
    type: e.type,
    userKey: e.userKey,
    properties: e.properties,
    timestamp: e.timestamp,
    receivedAt: e.receivedAt,
    context: pick(e.context, ['locale', 'timezone', 'page', 'campaign']),
  }
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}

function emptyIndex(): Index {
  return {
    byTrigger: new Map(),
    bySegmentEntry: new Map(),
    bySegmentExit: new Map(),
    correlated: [],
    byUserEvent: new Map(),
    exitOnSegment: new Map(),
    byConsentTopic: new Map(),
  }
}

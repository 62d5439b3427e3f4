import type { MembershipStore } from './membershipStore.js'
import type { LoadedSegment, SegmentCatalog } from './segmentCatalog.js'
import type { SegmentEvaluator } from './segmentEvaluator.js'
import type { WorkQueue } from './workQueue.js'

export interface SweepStatus {
  lastStartedAt: number | null
  lastDurationMs: number | null
  /**
   * How late sweeps run behind their due time: from when a sweep was due (its timer fired, or it
   * was asked for) to when it finished — the last one's, or the one still due if that is longer
   * (so a stall shows while it lasts). A time-driven change is recorded at most the interval
   * plus this late.
   */
  lagMs: number | null
  segments: number
  /** Of those, how many were swept incrementally (only the users whose events crossed a window). */
  incremental: number
}

/** Above this many candidates a full recompute beats a scoped evaluation. */
const MAX_SWEEP_CANDIDATES = 50_000

/**
 * Time-based changes: every `intervalMs`, revisits the segments that time alone can change ("within
 * 7 days" expiring, "no checkout within 24 h" coming true) — incrementally where it can, only the
 * users whose relevant events crossed one of the rule's windows since the segment was last current.
 */
export class SegmentSweeper {
  readonly status: SweepStatus = { lastStartedAt: null, lastDurationMs: null, lagMs: null, segments: 0, incremental: 0 }
  private timer: NodeJS.Timeout | undefined
  /** When the oldest sweep not yet finished was due (undefined: none is due). */
  private dueAt: number | undefined
  private lastLagMs: number | null = null

  constructor(
    private readonly deps: {
      catalog: SegmentCatalog
      evaluator: SegmentEvaluator
      store: MembershipStore
      queue: WorkQueue
      intervalMs: number
      now: () => number
      log?: (msg: string, extra?: Record<string, unknown>) => void
    },
  ) {}

  start(): void {
    this.timer = setInterval(
      () => void this.sweep().catch((err) => this.deps.log?.('segment sweep failed', { err: String(err) })),
      this.deps.intervalMs,
    )
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** The lag as of now (see SweepStatus.lagMs): a sweep that is due and waiting counts as it waits. */
  get lagMs(): number | null {
    const waiting = this.dueAt === undefined ? null : this.deps.now() - this.dueAt
    return waiting === null ? this.lastLagMs : Math.max(waiting, this.lastLagMs ?? 0)
  }

  /** Revisits every segment that time alone can change. */
  sweep(): Promise<void> {
    const { evaluator, queue, now } = this.deps
    // A sweep asked for while another is still due joins it in spirit: lateness counts from the first.
    this.dueAt ??= now()
    return queue.enqueue(async () => {
      const due = this.dueAt ?? now()
      this.dueAt = undefined
      const started = now()
      const rfmMoved = await evaluator.refreshRfm()
      const segments = [...this.deps.catalog.segments.values()].filter((s) => s.triggers.timeDependent)
      let incremental = 0
      if (evaluator.live) incremental = await evaluator.live.sweep(segments, rfmMoved)
      else for (const s of segments) if (await this.sweepOne(s, started)) incremental++
      this.done(started, due, segments.length, incremental)
    })
  }

  /**
   * Incremental where it can be: only users with a relevant event that crossed one of the rule's
   * windows since the segment was last current. Returns whether it was incremental.
   */
  private async sweepOne(s: LoadedSegment, now: number): Promise<boolean> {
    const { evaluator, store } = this.deps
    const id = s.definition.id
    const since = evaluator.currentAsOf.get(id)
    const t = s.triggers
    if (since === undefined || t.fullSweep || !t.windows.size) {
      await evaluator.recompute(id, 'sweep')
      return false
    }
    const candidates = await store.crossedWindows(
      { events: [...t.events], types: [...t.types], anyEvent: t.anyEvent },
      [...t.windows],
      since,
      now,
      MAX_SWEEP_CANDIDATES,
    )
    if (candidates === null) {
      await evaluator.recompute(id, 'sweep')
      return false
    }
    if (candidates.length) await evaluator.evaluate([id], candidates, 'sweep')
    evaluator.currentAsOf.set(id, now)
    return true
  }

  private done(started: number, due: number, segments: number, incremental: number): void {
    const finished = this.deps.now()
    this.lastLagMs = finished - due
    Object.assign(this.status, { lastStartedAt: started, lastDurationMs: finished - started, lagMs: this.lastLagMs, segments, incremental })
  }
}

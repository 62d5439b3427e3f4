import type { MembershipStore } from './membershipStore.js'
import type { LoadedSegment, SegmentCatalog } from './segmentCatalog.js'
import type { SegmentEvaluator } from './segmentEvaluator.js'
import type { WorkQueue } from './workQueue.js'

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

/**
 * Time-based changes: every `intervalMs`, revisits the segments that time alone can change ("within
 * 7 days" expiring, "no checkout within 24 h" coming true) — incrementally where it can, only the
 * users whose relevant events crossed one of the rule's windows since the segment was last current.
 */
export class SegmentSweeper {
  readonly status: SweepStatus = { lastStartedAt: null, lastDurationMs: null, lagMs: null, segments: 0, incremental: 0 }
  private timer: NodeJS.Timeout | undefined

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

  /** Revisits every segment that time alone can change. */
  sweep(): Promise<void> {
    const { evaluator, queue, now } = this.deps
    return queue.enqueue(async () => {
      const started = now()
      const previous = this.status.lastStartedAt
      const rfmMoved = await evaluator.refreshRfm()
      const due = [...this.deps.catalog.segments.values()].filter((s) => s.triggers.timeDependent)
      let incremental = 0
      if (evaluator.live) incremental = await evaluator.live.sweep(due, rfmMoved)
      else for (const s of due) if (await this.sweepOne(s, started)) incremental++
      this.done(started, previous, due.length, incremental)
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

  private done(started: number, previous: number | null, segments: number, incremental: number): void {
    const duration = this.deps.now() - started
    Object.assign(this.status, {
      lastStartedAt: started,
      lastDurationMs: duration,
      lagMs: (previous === null ? this.deps.intervalMs : started - previous) + duration,
      segments,
      incremental,
    })
  }
}

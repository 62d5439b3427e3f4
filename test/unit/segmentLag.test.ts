import { describe, expect, it } from 'vitest'
import type { EventWriter } from '../../ingest/eventWriter.js'
import { createMetrics } from '../../runtime/metrics.js'
import type { SegmentCatalog } from '../../segments/segmentCatalog.js'
import type { SegmentEngine } from '../../segments/segmentEngine.js'
import type { SegmentEvaluator } from '../../segments/segmentEvaluator.js'
import { SegmentSweeper } from '../../segments/segmentSweeper.js'
import type { MembershipStore } from '../../segments/membershipStore.js'
import { WorkQueue } from '../../segments/workQueue.js'

/**
 * Issue #16: the lag metrics must show a stall. The sweep lag is how late sweeps run behind their
 * due time (it used to be sweep start to sweep start and read ~0 after one); the queue lag is how
 * long the oldest segment work — an event round's membership changes — has been waiting.
 */
function stalledQueue() {
  let clock = 1_000
  const queue = new WorkQueue(undefined, () => clock)
  let release: () => void = () => {}
  const gate = new Promise<void>((r) => (release = r))
  const stall = queue.enqueue(() => gate)
  return { queue, stall, release: () => release(), advance: (ms: number) => (clock += ms), now: () => clock }
}

describe('segment lag', () => {
  it('the queue lag is the age of the oldest unfinished work, while it waits, and 0 once caught up', async () => {
    const q = stalledQueue()
    expect(q.queue.lagMs).toBe(0)
    q.advance(500)
    const change = q.queue.enqueue(async () => 'recorded')
    q.advance(1_500)
    expect(q.queue.lagMs).toBe(2_000)
    expect(q.queue.depth).toBe(2)
    q.release()
    await q.stall
    // The stall is done; the membership change queued behind it is the oldest now.
    expect(q.queue.lagMs).toBe(1_500)
    await change
    await q.queue.tail
    expect(q.queue.lagMs).toBe(0)
    expect(q.queue.depth).toBe(0)
  })

  it('the sweep lag counts from the due time: a stalled sweep shows while it waits and after it ran', async () => {
    const q = stalledQueue()
    const sweeper = new SegmentSweeper({
      catalog: { segments: new Map() } as unknown as SegmentCatalog,
      evaluator: { refreshRfm: async () => false } as unknown as SegmentEvaluator,
      store: {} as MembershipStore,
      queue: q.queue,
      intervalMs: 30_000,
      now: q.now,
    })
    expect(sweeper.lagMs).toBeNull()
    const due = sweeper.sweep()
    q.advance(2_500)
    expect(sweeper.lagMs).toBe(2_500) // still waiting: the stall is visible now
    q.release()
    await due
    expect(sweeper.status.lagMs).toBe(2_500)
    expect(sweeper.lagMs).toBe(2_500)
    // A sweep that runs on time reads its own (small) lateness, not the interval.
    await sweeper.sweep()
    expect(sweeper.lagMs).toBe(0)
  })

  it('/metrics exports both, in seconds', async () => {
    const segments = {
      sweepStatus: { lagMs: 2_500, lastDurationMs: 10 },
      queueLagMs: 1_800,
      onEvaluated: () => {},
      onTransition: () => {},
    } as unknown as SegmentEngine
    const writer = { queueDepth: 0, onFlush: () => {} } as unknown as EventWriter
    const text = await createMetrics({ writer, segments }).registry.metrics()
    expect(text).toMatch(/^nudge_segment_sweep_lag_seconds 2\.5$/m)
    expect(text).toMatch(/^nudge_segment_queue_lag_seconds 1\.8$/m)
  })
})

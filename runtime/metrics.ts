import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { EventWriter } from '../ingest/eventWriter.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import type { Deliverer } from '../delivery/deliver.js'
import type { TriggerRouter } from '../journeys/triggerRouter.js'
import type { Tombstones } from '../ingest/erasure/tombstones.js'
import type { AppMetrics } from '../api/app.js'

/**
 * Prometheus metrics (`GET /metrics`). One registry per Nudge instance, so tests running several
 * instances in a process never share counters.
 */
export type Metrics = AppMetrics

/** Rows a buffered store write refused for their own data (dropped, never retried), by table. */
export function addRefusedRowsMetric(registry: Registry, tables: Record<string, () => number>): void {
  const seen = new Map<string, number>()
  new Counter({
    name: 'nudge_store_rows_refused_total',
    help: 'Rows the store refused for their own data (e.g. text it cannot hold): dropped and logged, never retried',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      for (const [table, count] of Object.entries(tables)) {
        const now = count()
        this.inc({ table }, now - (seen.get(table) ?? 0))
        seen.set(table, now)
      }
    },
  })
}

export function createMetrics(deps: { writer: EventWriter; segments: SegmentEngine; erased?: Pick<Tombstones, 'onDrop'> }): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'nudge_' })
  const events = new Counter({
    name: 'nudge_ingest_events_total',
    help: 'Events received by the writer, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  })
  const rejects = new Counter({
    name: 'nudge_ingest_rejects_total',
    help: 'Requests answered with an error, by code and status',
    labelNames: ['code', 'status'],
    registers: [registry],
  })
  const flush = new Histogram({
    name: 'nudge_ingest_batch_seconds',
    help: 'Time to store one write batch (dedupe, rows, inserts)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  new Gauge({
    name: 'nudge_ingest_queue_events',
    help: 'Events accepted and waiting to be stored',
    registers: [registry],
    collect() {
      this.set(deps.writer.queueDepth)
    },
  })
  addSegmentMetrics(registry, deps.segments)

  // Late signals of erased people (an old pixel, click, unsubscribe, bounce, a retried event, a
  // send of a run triggered before the erasure): dropped, never stored — counted here.
  const erasedDropped = new Counter({
    name: 'nudge_erased_signals_dropped_total',
    help: 'Signals of erased users or their mail dropped instead of stored, by kind',
    labelNames: ['kind'],
    registers: [registry],
  })
  deps.erased?.onDrop((kind, n) => erasedDropped.inc({ kind }, n))

  deps.writer.onFlush((s) => {
    events.inc({ outcome: 'stored' }, s.stored)
    if (s.duplicates) events.inc({ outcome: 'duplicate' }, s.duplicates)
    if (s.consentLimited) events.inc({ outcome: 'consent_limited' }, s.consentLimited)
    flush.observe(s.durationMs / 1000)
  })

  return { registry, rejected: (code, status) => rejects.inc({ code, status: String(status) }) }
}

/** Segment evaluation latency, entries and exits, and how far behind the sweeps and the live path run. */
function addSegmentMetrics(registry: Registry, segments: SegmentEngine): void {
  const evaluation = new Histogram({
    name: 'nudge_segment_evaluation_seconds',
    help: 'From an event being stored to its segments being re-evaluated',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  const transitions = new Counter({
    name: 'nudge_segment_transitions_total',
    help: 'Segment entries and exits',
    labelNames: ['segment', 'direction', 'cause'],
    registers: [registry],
  })
  new Gauge({
    name: 'nudge_segment_sweep_lag_seconds',
    help: 'How late sweeps run behind their due time (due to finished; a sweep still waiting counts as it waits). A time-driven change is recorded at most the sweep interval plus this late',
    registers: [registry],
    collect() {
      const lag = segments.sweepStatus.lagMs
      if (lag !== null) this.set(lag / 1000)
    },
  })
  new Gauge({
    name: 'nudge_segment_queue_lag_seconds',
    help: 'How long the oldest segment work not yet finished (membership changes of an event round, a sweep, a recompute) has been queued; 0 when caught up',
    registers: [registry],
    collect() {
      this.set(segments.queueLagMs / 1000)
    },
  })
  new Gauge({
    name: 'nudge_segment_sweep_duration_seconds',
    help: 'Duration of the last sweep',
    registers: [registry],
    collect() {
      const d = segments.sweepStatus.lastDurationMs
      if (d !== null) this.set(d / 1000)
    },
  })
  segments.onEvaluated((ls) => {
    for (const l of ls) evaluation.observe(l / 1000)
  })
  segments.onTransition((t) => transitions.inc({ segment: t.segmentId, direction: t.entered ? 'enter' : 'exit', cause: t.cause }))
}

/** Journey metrics: routing latency and backlog, and every send's outcome. */
export function addJourneyMetrics(registry: Registry, j: { router?: TriggerRouter; deliverer?: Deliverer }): void {
  if (j.router) {
    const router = j.router
    const routed = new Histogram({
      name: 'nudge_journey_routing_seconds',
      help: 'From a batch being stored to Temporal accepting the start, signal or exit it caused',
      labelNames: ['kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
    router.observe((kind, ms) => routed.observe({ kind }, ms / 1000))
    new Gauge({
      name: 'nudge_journey_routing_queue',
      help: 'Temporal calls queued or in flight',
      registers: [registry],
      collect() {
        this.set(router.depth)
      },
    })
    new Gauge({
      name: 'nudge_journey_routing_retries',
      help: 'Routing calls that failed 8 times in a row (and are still retried)',
      registers: [registry],
      collect() {
        this.set(router.failed)
      },
    })
    // The router counts refusals itself (it has no registry); the counter catches up on each scrape.
    let rejectedSeen = 0
    new Counter({
      name: 'nudge_journey_routing_rejected_total',
      help: 'Routing calls Temporal refused as invalid (INVALID_ARGUMENT): dropped and logged, never retried',
      registers: [registry],
      collect() {
        this.inc(router.rejected - rejectedSeen)
        rejectedSeen = router.rejected
      },
    })
  }
  if (j.deliverer) {
    const sends = new Counter({
      name: 'nudge_journey_sends_total',
      help: 'Send steps by journey and outcome (sent, skipped:<reason>, deferred:<reason>)',
      labelNames: ['journey', 'outcome', 'test'],
      registers: [registry],
    })
    const latency = new Histogram({
      name: 'nudge_trigger_latency_seconds',
      help: 'Per sent message: from its trigger event being received (kind=received_to_sent) or from its scheduled time (kind=scheduled_to_sent) to the hand-over',
      labelNames: ['journey', 'kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    })
    const failures = new Counter({
      name: 'nudge_send_failures_total',
      help: 'Send attempts that failed and are retried by Temporal (store or SMTP trouble)',
      labelNames: ['journey'],
      registers: [registry],
    })
    j.deliverer.observe((req, r) => {
      sends.inc({ journey: req.journeyId, outcome: r.status === 'sent' ? 'sent' : `${r.status}:${r.reason ?? ''}`, test: String(req.test) })
      if (r.status !== 'sent' || r.reason === 'already_sent' || req.test) return
      const now = Date.now()
      latency.observe({ journey: req.journeyId, kind: 'received_to_sent' }, Math.max(0, now - req.trigger.receivedAt) / 1000)
      if (req.scheduledAt) latency.observe({ journey: req.journeyId, kind: 'scheduled_to_sent' }, Math.max(0, now - req.scheduledAt) / 1000)
    })
    j.deliverer.observeFailures((req) => failures.inc({ journey: req.journeyId }))
  }
}

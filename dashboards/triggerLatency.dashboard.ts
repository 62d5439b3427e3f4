import { Board } from './panels.js'
import { prom, sql } from './queries.js'
import { journeyFilter, latencyQuantiles, secondsBetween } from './sql.js'
import { journeyVariable, nudgeApiVariable, sloVariable } from './variables.js'

/**
 * Trigger latency, stage by stage, for runs that started (test sends excluded):
 * - event → received: the event's own timestamp (`journey_runs.trigger_at`) to Nudge receiving it
 *   (`received_at`) — the client's delay and clock, after ingest's skew correction;
 * - received → run started: receiving the event to Temporal starting the run (`at` of the
 *   'started' row) — Nudge's own latency, the one with the SLO;
 * - step scheduled → sent: a send step beginning (`journey_steps.scheduled_at`) to the message
 *   being handed over (`at`, outcome 'sent') — the pre-send checks, rendering and SMTP.
 *
 * The SLO is the `slo_seconds` variable (default 300 s): a dashed red line on each panel, and the
 * breach counts compare received → started with it.
 */
const SLO = `toFloat64OrNull('\${slo_seconds}')`
const RECEIVED_TO_STARTED = secondsBetween('received_at', 'at')
const EVENT_TO_RECEIVED = secondsBetween('trigger_at', 'received_at')
const SCHEDULED_TO_SENT = secondsBetween('assumeNotNull(scheduled_at)', 'at')
const STARTED_RUNS = `$__timeFilter(at) AND phase = 'started' AND is_test = 0 AND ${journeyFilter()}`

export function triggerLatencyDashboard(sloSeconds = 300): Board {
  const b = new Board({
    uid: 'nudge-trigger-latency',
    title: 'Nudge · Trigger latency',
    description: 'From event to run to send: p50/p90/p99 per stage against the latency SLO',
    tags: ['journeys', 'latency'],
    from: 'now-24h',
  })
  b.variable(journeyVariable()).variable(sloVariable(sloSeconds)).variable(nudgeApiVariable())

  sloRow(b)
  latencyByStageRow(b)
  slowestRunsRow(b)
  return b
}

function sloRow(b: Board): void {
  b.row('SLO')
  b.stat({
    title: 'p99 received → started',
    description: 'Over the whole range: the 99th percentile of receiving a trigger event to its run starting',
    unit: 's',
    decimals: 2,
    links: [{ title: 'Trigger-latency report per journey and step (Nudge API)', url: '${nudge_api}/api/reports/trigger-latency' }],
    queries: [
      sql({
        format: 'table',
        columns: ['p99'],
        sql: `SELECT quantile(0.99)(${RECEIVED_TO_STARTED}) AS p99 FROM journey_runs WHERE ${STARTED_RUNS}`,
      }),
    ],
  })
  b.stat({
    title: 'SLO breaches',
    description: 'Runs whose received → started latency was above the SLO (slo_seconds)',
    thresholds: { base: 'green', steps: [[1, 'red']] },
    queries: [
      sql({
        format: 'table',
        columns: ['breaches'],
        sql: `SELECT countIf(${RECEIVED_TO_STARTED} > ${SLO}) AS breaches FROM journey_runs WHERE ${STARTED_RUNS}`,
      }),
    ],
  })
  b.stat({
    title: 'Breach rate',
    description: 'Share of started runs above the SLO (received → started)',
    unit: 'percentunit',
    decimals: 2,
    thresholds: {
      base: 'green',
      steps: [
        [0.01, 'orange'],
        [0.05, 'red'],
      ],
    },
    queries: [
      sql({
        format: 'table',
        columns: ['breach_rate'],
        sql: `SELECT countIf(${RECEIVED_TO_STARTED} > ${SLO}) / nullIf(count(), 0) AS breach_rate FROM journey_runs WHERE ${STARTED_RUNS}`,
      }),
    ],
  })
  b.stat({
    title: 'End-to-end breaches',
    description: 'Runs whose event → started latency (client delay included) was above the SLO',
    queries: [
      sql({
        format: 'table',
        columns: ['breaches'],
        sql: `SELECT countIf(${secondsBetween('trigger_at', 'at')} > ${SLO}) AS breaches FROM journey_runs WHERE ${STARTED_RUNS}`,
      }),
    ],
  })
}

/** One stage's p50/p90/p99 over time, with the SLO as a dashed reference line. */
function stagePanel(b: Board, title: string, description: string, seconds: string, from: string, where: string): void {
  b.timeseries({
    title,
    description,
    unit: 's',
    referenceLines: ['slo'],
    min: 0,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'p50', 'p90', 'p99', 'slo'],
        sql: `
          SELECT $__timeInterval(at) AS time, ${latencyQuantiles(seconds)}, ${SLO} AS slo
          FROM ${from}
          WHERE ${where}
          GROUP BY time
          ORDER BY time`,
      }),
    ],
  })
}

function latencyByStageRow(b: Board): void {
  b.row('Latency by stage')
  stagePanel(
    b,
    'Received → run started',
    'Receiving the trigger event to Temporal starting the run (journey_runs.received_at → at)',
    RECEIVED_TO_STARTED,
    'journey_runs',
    STARTED_RUNS,
  )
  stagePanel(
    b,
    'Event → received',
    "The event's timestamp to Nudge receiving it (journey_runs.trigger_at → received_at): the client's share",
    EVENT_TO_RECEIVED,
    'journey_runs',
    STARTED_RUNS,
  )
  stagePanel(
    b,
    'Step scheduled → sent',
    "A send step beginning to the message being handed over (journey_steps.scheduled_at → at, outcome 'sent'): gate, render, SMTP",
    SCHEDULED_TO_SENT,
    'journey_steps',
    `$__timeFilter(at) AND outcome = 'sent' AND scheduled_at IS NOT NULL AND is_test = 0 AND ${journeyFilter()}`,
  )
  b.timeseries({
    title: 'Routing: stored → Temporal accepted',
    description:
      'nudge_journey_routing_seconds: from a batch being stored to Temporal accepting the start, signal or exit it caused (p99 by kind)',
    unit: 's',
    queries: [
      prom({
        expr: 'histogram_quantile(0.99, sum by (le, kind) (rate(nudge_journey_routing_seconds_bucket[$__rate_interval])))',
        legend: 'p99 {{kind}}',
      }),
    ],
  })

  b.timeseries({
    title: 'Received → sent, per sent message',
    description:
      'nudge_trigger_latency_seconds{kind="received_to_sent"}: from the trigger event being received to its message being handed over (deliberate delays included), p99 by journey',
    unit: 's',
    queries: [
      prom({
        expr: 'histogram_quantile(0.99, sum by (le, journey) (rate(nudge_trigger_latency_seconds_bucket{kind="received_to_sent"}[$__rate_interval])))',
        legend: 'p99 {{journey}}',
      }),
    ],
  })
  b.timeseries({
    title: 'Send failures',
    description:
      'nudge_send_failures_total: send attempts that failed (store or SMTP trouble) and are retried by Temporal, per second by journey',
    unit: 'ops',
    queries: [prom({ expr: 'sum by (journey) (rate(nudge_send_failures_total[$__rate_interval]))', legend: '{{journey}}' })],
  })
}

function slowestRunsRow(b: Board): void {
  b.row('Slowest runs')
  b.table({
    title: 'Slowest runs',
    description: 'The 50 started runs with the longest received → started latency in the range',
    queries: [
      sql({
        format: 'table',
        columns: ['started_at', 'journey', 'workflow_id', 'trigger_event', 'event_to_received_s', 'received_to_started_s'],
        sql: `
          SELECT at AS started_at, toString(journey_id) AS journey, workflow_id, trigger_event,
                 round(${EVENT_TO_RECEIVED}, 3) AS event_to_received_s, round(${RECEIVED_TO_STARTED}, 3) AS received_to_started_s
          FROM journey_runs
          WHERE ${STARTED_RUNS}
          ORDER BY received_to_started_s DESC
          LIMIT 50`,
      }),
    ],
  })
}

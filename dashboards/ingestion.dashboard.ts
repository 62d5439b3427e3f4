import { Board } from './panels.js'
import { prom, sql } from './queries.js'
import { latencyQuantiles, secondsBetween } from './sql.js'

/**
 * Ingestion: what arrives (stored events, from ClickHouse) and how the write path copes (the
 * Prometheus metrics of `GET /metrics`: rejects, batch store time, outcomes, queue).
 */
const LAG = secondsBetween('timestamp', 'received_at')

export function ingestionDashboard(): Board {
  const b = new Board({
    uid: 'nudge-ingestion',
    title: 'Nudge · Ingestion',
    description: 'Events per second, rejects by reason, batch store latency and event lag',
    tags: ['ingest'],
    from: 'now-6h',
    refresh: '30s',
  })

  overviewRow(b)
  throughputRow(b)
  errorsAndLatencyRow(b)
  return b
}

function overviewRow(b: Board): void {
  b.row('Overview')
  b.stat({
    title: 'Events stored',
    description: 'Events received in the range (events.received_at)',
    sparkline: true,
    queries: [sql({ format: 'table', columns: ['events'], sql: 'SELECT count() AS events FROM events WHERE $__timeFilter(received_at)' })],
  })
  b.stat({
    title: 'Rejected requests/s',
    description: 'nudge_ingest_rejects_total: requests answered with an error, all codes',
    unit: 'reqps',
    decimals: 2,
    thresholds: {
      base: 'green',
      steps: [
        [0.01, 'orange'],
        [1, 'red'],
      ],
    },
    queries: [prom({ expr: 'sum(rate(nudge_ingest_rejects_total[5m])) or vector(0)', instant: true })],
  })
  b.stat({
    title: 'p99 lag',
    description: 'received_at − timestamp over the range: how late events arrive (client delay and clock)',
    unit: 's',
    decimals: 2,
    queries: [
      sql({ format: 'table', columns: ['p99'], sql: `SELECT quantile(0.99)(${LAG}) AS p99 FROM events WHERE $__timeFilter(received_at)` }),
    ],
  })
  b.stat({
    title: 'Queue',
    description: 'nudge_ingest_queue_events: events accepted and waiting to be stored',
    queries: [prom({ expr: 'sum(nudge_ingest_queue_events)', instant: true })],
  })
}

function throughputRow(b: Board): void {
  b.row('Throughput')
  b.timeseries({
    title: 'Events per second',
    description: 'Stored events per second by message type (events.received_at)',
    unit: 'ops',
    displayName: '${__field.labels.type}',
    stack: true,
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'type', 'events_per_second'],
        sql: `
          SELECT $__timeInterval(received_at) AS time, toString(type) AS type, count() / $__interval_s AS events_per_second
          FROM events
          WHERE $__timeFilter(received_at)
          GROUP BY time, type
          ORDER BY time`,
      }),
    ],
  })
  b.timeseries({
    title: 'Writer outcomes',
    description: 'nudge_ingest_events_total: events through the writer per second, by outcome (stored, duplicate, consent_limited)',
    unit: 'ops',
    queries: [prom({ expr: 'sum by (outcome) (rate(nudge_ingest_events_total[$__rate_interval]))', legend: '{{outcome}}' })],
  })
}

function errorsAndLatencyRow(b: Board): void {
  b.row('Errors and latency')
  b.timeseries({
    title: 'Rejects by reason',
    description: 'nudge_ingest_rejects_total per second, by error code and HTTP status',
    unit: 'reqps',
    stack: true,
    queries: [
      prom({ expr: 'sum by (code, status) (rate(nudge_ingest_rejects_total[$__rate_interval]))', legend: '{{code}} ({{status}})' }),
    ],
  })
  b.timeseries({
    title: 'Batch store time',
    description: 'nudge_ingest_batch_seconds: time to store one write batch (dedupe, rows, inserts), quantiles from the histogram',
    unit: 's',
    queries: [0.5, 0.9, 0.99].map((q) =>
      prom({
        expr: `histogram_quantile(${q}, sum by (le) (rate(nudge_ingest_batch_seconds_bucket[$__rate_interval])))`,
        legend: `p${Math.round(q * 100)}`,
      }),
    ),
  })
  b.timeseries({
    title: 'Event lag (received − timestamp)',
    description: "How late events arrive: Nudge's receive time minus the event's timestamp, p50/p90/p99",
    unit: 's',
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'p50', 'p90', 'p99'],
        sql: `
          SELECT $__timeInterval(received_at) AS time, ${latencyQuantiles(LAG)}
          FROM events
          WHERE $__timeFilter(received_at)
          GROUP BY time
          ORDER BY time`,
      }),
    ],
  })
  b.timeseries({
    title: 'Queue depth',
    description: 'nudge_ingest_queue_events per instance: accepted, not yet stored',
    queries: [prom({ expr: 'nudge_ingest_queue_events', legend: '{{instance}}' })],
  })
}

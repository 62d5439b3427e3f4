import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/**
 * Destination metrics (`GET /metrics`), by destination id: records by outcome, retried attempts,
 * the oldest pending record's age (how far behind a destination is) and fact → delivered latency.
 * The Grafana dashboard (dashboards/destinations.dashboard.ts) draws one panel per destination from them.
 */
export interface DestinationMetrics {
  records(destination: string, outcome: 'enqueued' | 'delivered' | 'dead_lettered' | 'withheld', n: number): void
  retried(destination: string): void
  lag(destination: string, ms: number): void
  delivered(destination: string, lagsMs: number[]): void
  erasure(destination: string, outcome: 'ok' | 'failed'): void
}

export function createDestinationMetrics(registry: Registry): DestinationMetrics {
  const records = new Counter({
    name: 'nudge_destination_records_total',
    help: 'Records per destination by outcome: enqueued, delivered, dead_lettered, withheld (consent)',
    labelNames: ['destination', 'outcome'],
    registers: [registry],
  })
  const retries = new Counter({
    name: 'nudge_destination_retries_total',
    help: 'Batch attempts that stopped at a retryable answer (429, 5xx, timeout) and were retried',
    labelNames: ['destination'],
    registers: [registry],
  })
  const lag = new Gauge({
    name: 'nudge_destination_lag_seconds',
    help: 'Age of the oldest pending record per destination (0 when none is pending)',
    labelNames: ['destination'],
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'nudge_destination_delivery_seconds',
    help: 'From the fact (transition, outcome) to its delivery, per destination',
    labelNames: ['destination'],
    buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  })
  const erasures = new Counter({
    name: 'nudge_destination_erasures_total',
    help: 'Delete calls sent to destinations for erased users, by outcome',
    labelNames: ['destination', 'outcome'],
    registers: [registry],
  })
  return {
    records: (destination, outcome, n) => n > 0 && records.inc({ destination, outcome }, n),
    retried: (destination) => retries.inc({ destination }),
    lag: (destination, ms) => lag.set({ destination }, Math.max(0, ms) / 1000),
    delivered: (destination, lagsMs) => lagsMs.forEach((ms) => latency.observe({ destination }, Math.max(0, ms) / 1000)),
    erasure: (destination, outcome) => erasures.inc({ destination, outcome }),
  }
}

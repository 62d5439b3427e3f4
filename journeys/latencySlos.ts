import { parseDuration } from '../core/duration.js'

/**
 * Per-journey trigger-latency SLOs as TRIGGER_LATENCY_SLOS writes them (`cart-abandonment:60s,browse:5m`,
 * already validated by the env schema) → journey id → milliseconds. Here, below both readers: the
 * configuration (runtime/) and the Grafana alert built from the same variable (dashboards/).
 */
export function parseJourneySlos(text: string): Record<string, number> {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.lastIndexOf(':')), parseDuration(kv.slice(kv.lastIndexOf(':') + 1))!]),
  )
}

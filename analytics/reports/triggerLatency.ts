import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/**
 * Trigger latency, per journey and step, from what journeys record: event time → received,
 * received → run started, run started → sent, and a step's scheduled time → actually sent;
 * p50/p90/p99 over the range and per hour; a per-journey SLO on the latency Nudge adds to a send
 * (received → started, plus sent − scheduled: deliberate delays do not count; the seed's "under 5
 * minutes for critical flows" is the loosest default) with every breach counted.
 * Test accounts are left out.
 */
export interface LatencyQuery {
  from: number
  until: number
  journeyId?: string
  /** SLO on the added latency (ms), per journey; `default` for the rest. */
  slo: { default: number; byJourney: Record<string, number> }
  bucketMs?: number
}

const QUANTILES = 'quantilesExact(0.5, 0.9, 0.99)'

const RUNS = `
  SELECT workflow_id, journey_id,
         toUnixTimestamp64Milli(any(trigger_at)) AS trigger_ms,
         toUnixTimestamp64Milli(any(received_at)) AS received_ms,
         toUnixTimestamp64Milli(min(at)) AS started_ms
  FROM journey_runs
  WHERE phase = 'started' AND is_test = 0
    AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
    AND ({journey:String} = '' OR journey_id = {journey:String})
  GROUP BY workflow_id, journey_id`

const SENDS = `
  SELECT workflow_id, step_id, toUnixTimestamp64Milli(min(at)) AS sent_ms, toUnixTimestamp64Milli(any(scheduled_at)) AS scheduled_ms
  FROM send_ledger
  WHERE status = 'sent' AND is_test = 0
    AND at >= fromUnixTimestamp64Milli({from:Int64})
    AND ({journey:String} = '' OR journey_id = {journey:String})
  GROUP BY workflow_id, step_id, message_id`

const toP = (a: number[] | undefined) => (a && a.length === 3 ? { p50: a[0]!, p90: a[1]!, p99: a[2]! } : null)

type LatencyParams = { from: number; until: number; journey: string; bucket: number }

/** The four reductions ClickHouse does: per journey, per journey and step, per send (for the SLO), per journey and bucket. */
function loadLatencies(client: ClickHouseClient, params: LatencyParams) {
  return Promise.all([
    selectRows<{ journey_id: string; n: string; event_to_received: number[]; received_to_started: number[] }>(
      client,
      `SELECT journey_id, count() AS n,
              ${QUANTILES}(received_ms - trigger_ms) AS event_to_received,
              ${QUANTILES}(started_ms - received_ms) AS received_to_started
       FROM (${RUNS}) GROUP BY journey_id ORDER BY journey_id`,
      params,
    ),
    selectRows<{ journey_id: string; step_id: string; n: string; started_to_sent: number[]; scheduled_to_sent: number[] }>(
      client,
      `SELECT r.journey_id AS journey_id, s.step_id AS step_id, count() AS n,
              ${QUANTILES}(s.sent_ms - r.started_ms) AS started_to_sent,
              ${QUANTILES}(s.sent_ms - s.scheduled_ms) AS scheduled_to_sent
       FROM (${RUNS}) AS r INNER JOIN (${SENDS}) AS s USING workflow_id
       GROUP BY journey_id, step_id ORDER BY journey_id, step_id`,
      params,
    ),
    // Per send, the latency Nudge added — received → run started, plus how late the send was
    // after its scheduled time (deliberate delays do not count) — for the SLO, checked below.
    selectRows<{ journey_id: string; workflow_id: string; step_id: string; ms: number; received_ms: number }>(
      client,
      `SELECT r.journey_id AS journey_id, r.workflow_id AS workflow_id, s.step_id AS step_id,
              (r.started_ms - r.received_ms) + greatest(0, s.sent_ms - if(s.scheduled_ms > 0, s.scheduled_ms, r.started_ms)) AS ms,
              r.received_ms AS received_ms
       FROM (${RUNS}) AS r INNER JOIN (${SENDS}) AS s USING workflow_id`,
      params,
    ),
    selectRows<{ journey_id: string; bucket: string; n: string; received_to_started: number[] }>(
      client,
      `SELECT journey_id, toString(fromUnixTimestamp64Milli(intDiv(received_ms, {bucket:Int64}) * {bucket:Int64})) AS bucket, count() AS n,
              ${QUANTILES}(started_ms - received_ms) AS received_to_started
       FROM (${RUNS}) GROUP BY journey_id, bucket ORDER BY journey_id, bucket`,
      params,
    ),
  ])
}

export async function triggerLatency(client: ClickHouseClient, q: LatencyQuery) {
  const params = { from: q.from, until: q.until, journey: q.journeyId ?? '', bucket: q.bucketMs ?? 3_600_000 }
  const [runs, steps, sends, hourly] = await loadLatencies(client, params)
  const sloOf = (j: string) => q.slo.byJourney[j] ?? q.slo.default
  const journeys = [...new Set([...runs.map((r) => r.journey_id), ...steps.map((s) => s.journey_id)])].sort()
  return {
    from: new Date(q.from).toISOString(),
    until: new Date(q.until).toISOString(),
    unit: 'ms',
    journeys: journeys.map((j) => {
      const r = runs.find((x) => x.journey_id === j)
      const immediate = sends.filter((s) => s.journey_id === j)
      const breaches = immediate.filter((s) => Number(s.ms) > sloOf(j))
      return {
        journey: j,
        runs: Number(r?.n ?? 0),
        eventToReceived: toP(r?.event_to_received),
        receivedToStarted: toP(r?.received_to_started),
        steps: steps
          .filter((s) => s.journey_id === j)
          .map((s) => ({
            step: s.step_id,
            sends: Number(s.n),
            startedToSent: toP(s.started_to_sent),
            scheduledToSent: toP(s.scheduled_to_sent),
          })),
        slo: {
          receivedToSentMs: sloOf(j),
          sends: immediate.length,
          breaches: breaches.length,
          examples: breaches.slice(0, 5).map((b) => ({
            workflowId: b.workflow_id,
            step: b.step_id,
            ms: Number(b.ms),
            receivedAt: new Date(Number(b.received_ms)).toISOString(),
          })),
        },
        overTime: hourly
          .filter((h) => h.journey_id === j)
          .map((h) => ({ at: `${h.bucket.replace(' ', 'T')}Z`, runs: Number(h.n), receivedToStarted: toP(h.received_to_started) })),
      }
    }),
  }
}

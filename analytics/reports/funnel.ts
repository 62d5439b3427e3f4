import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../store.js'

/**
 * Each journey's funnel over a range: runs entered → messages sent → opened (people, not machine
 * opens) → clicked (people) → converted (runs that ended on an exit event). Test accounts left out.
 */
export async function journeyFunnel(client: ClickHouseClient, q: { from: number; until: number }) {
  const rows = await selectRows<{ journey_id: string; entered: string; sent: string; opened: string; clicked: string; converted: string }>(
    client,
    `WITH
       runs AS (SELECT journey_id, uniqExactIf(workflow_id, phase = 'started') AS entered, uniqExactIf(workflow_id, phase = 'ended' AND startsWith(outcome, 'exit:')) AS converted
                FROM journey_runs WHERE is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64}) GROUP BY journey_id),
       sends AS (SELECT journey_id, uniqExact(message_id) AS sent FROM send_ledger
                 WHERE status = 'sent' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64}) GROUP BY journey_id),
       engaged AS (SELECT journey_id, uniqExactIf(message_id, event = 'open') AS opened, uniqExactIf(message_id, event = 'click') AS clicked
                   FROM message_events WHERE machine = 0 AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY journey_id)
     SELECT r.journey_id AS journey_id, r.entered AS entered, ifNull(s.sent, 0) AS sent, ifNull(e.opened, 0) AS opened, ifNull(e.clicked, 0) AS clicked, r.converted AS converted
     FROM runs AS r LEFT JOIN sends AS s ON s.journey_id = r.journey_id LEFT JOIN engaged AS e ON e.journey_id = r.journey_id
     ORDER BY entered DESC`,
    q,
  )
  return rows.map((r) => ({ journey: r.journey_id, entered: Number(r.entered), sent: Number(r.sent), opened: Number(r.opened), clicked: Number(r.clicked), converted: Number(r.converted) }))
}

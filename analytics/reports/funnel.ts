import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/** The event that counts as a conversion after a journey's message (the seed's: a purchase). */
export const FUNNEL_CONVERSION_EVENT = 'Order Completed'

/**
 * Each journey's funnel over a range: runs entered → messages sent → opened (people, not machine
 * opens) → clicked (people) → converted: runs whose user made the conversion event after the
 * run's message went out (bought after the reminder, the offer, the win-back mail). Beside it,
 * `exited`: runs that ended on their exit event before any message (the cart was bought before
 * the reminder was due) — the goal reached without mail, not a conversion of the funnel's mail.
 * Test accounts left out.
 */
export async function journeyFunnel(client: ClickHouseClient, q: { from: number; until: number; conversionEvent?: string }) {
  const rows = await selectRows<{
    journey_id: string
    entered: string
    sent: string
    opened: string
    clicked: string
    converted: string
    exited: string
  }>(
    client,
    `WITH
       sent_rows AS (SELECT journey_id, workflow_id, user_key, message_id, at FROM send_ledger
                     WHERE status = 'sent' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})),
       runs AS (SELECT journey_id, uniqExactIf(workflow_id, phase = 'started') AS entered, uniqExactIf(workflow_id, phase = 'ended' AND startsWith(outcome, 'exit:') AND workflow_id NOT IN (SELECT workflow_id FROM sent_rows)) AS exited
                FROM journey_runs WHERE is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64}) GROUP BY journey_id),
       sends AS (SELECT journey_id, uniqExact(message_id) AS sent FROM sent_rows GROUP BY journey_id),
       engaged AS (SELECT journey_id, uniqExactIf(message_id, event = 'open') AS opened, uniqExactIf(message_id, event = 'click') AS clicked
                   FROM message_events WHERE machine = 0 AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY journey_id),
       last_conversion AS (SELECT user_key, max(timestamp) AS last_at FROM events
                           WHERE event = {conversion:String} AND timestamp < fromUnixTimestamp64Milli({until:Int64}) AND user_key IN (SELECT user_key FROM sent_rows) GROUP BY user_key),
       converted AS (SELECT s.journey_id AS journey_id, uniqExact(s.workflow_id) AS converted
                     FROM sent_rows AS s INNER JOIN last_conversion AS c ON c.user_key = s.user_key WHERE c.last_at > s.at GROUP BY s.journey_id)
     SELECT r.journey_id AS journey_id, r.entered AS entered, ifNull(s.sent, 0) AS sent, ifNull(e.opened, 0) AS opened, ifNull(e.clicked, 0) AS clicked, ifNull(c.converted, 0) AS converted, r.exited AS exited
     FROM runs AS r LEFT JOIN sends AS s ON s.journey_id = r.journey_id LEFT JOIN engaged AS e ON e.journey_id = r.journey_id LEFT JOIN converted AS c ON c.journey_id = r.journey_id
     ORDER BY entered DESC, journey_id`,
    { from: q.from, until: q.until, conversion: q.conversionEvent ?? FUNNEL_CONVERSION_EVENT },
  )
  return rows.map((r) => ({
    journey: r.journey_id,
    entered: Number(r.entered),
    sent: Number(r.sent),
    opened: Number(r.opened),
    clicked: Number(r.clicked),
    converted: Number(r.converted),
    exited: Number(r.exited),
  }))
}

import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../../clickhouse/store.js'
import { type Finding, type JourneyExits, finding, iso } from './model.js'
import { RUNS, type Range, SENDS } from './sendsSql.js'

type ConversionRow = {
  message_id: string
  journey_id: string
  user_key: string
  sent_ms: number
  ev_message: string
  ev_event: string
  ev_ms: number
  ev_received_ms: number
}

/** sent_after_conversion: per journey, its exit events, matched by correlation value or user, between the trigger and the send. */
export async function sentAfterConversion(client: ClickHouseClient, p: Range, journeys: JourneyExits[]): Promise<Finding[]> {
  const findings: Finding[] = []
  for (const j of journeys) {
    for (const x of j.exits) {
      const rows = await conversionsBeforeSend(client, p, j, x)
      for (const r of rows)
        findings.push(
          finding('sent_after_conversion', r, {
            conversion: { messageId: r.ev_message, event: r.ev_event, at: iso(r.ev_ms), receivedAt: iso(r.ev_received_ms) },
            sentAt: iso(r.sent_ms),
            // Received only after the send: a race Nudge could not have seen; earlier: a miss.
            race: Number(r.ev_received_ms) >= Number(r.sent_ms),
          }),
        )
    }
  }
  return findings
}

function conversionsBeforeSend(client: ClickHouseClient, p: Range, j: JourneyExits, x: JourneyExits['exits'][number]) {
  const byKey = x.match === 'correlation' && j.correlationKey
  const path = byKey ? j.correlationKey!.split('.') : []
  const keyExpr = path.length
    ? `trim(BOTH '"' FROM JSONExtractRaw(e.properties, ${path.map((_, i) => `{k${i}:String}`).join(', ')}))`
    : "''"
  return selectRows<ConversionRow>(
    client,
    `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms,
            e.message_id AS ev_message, e.event AS ev_event, toUnixTimestamp64Milli(e.timestamp) AS ev_ms, toUnixTimestamp64Milli(e.received_at) AS ev_received_ms
     FROM (${SENDS}) AS s
     INNER JOIN (${RUNS}) AS r ON r.workflow_id = s.workflow_id
     INNER JOIN (SELECT user_key, message_id, event, timestamp, received_at, properties FROM events WHERE event = {exit:String}) AS e ON e.user_key = s.user_key
     WHERE s.journey_id = {journey:String} AND s.test = 0
       AND toUnixTimestamp64Milli(e.timestamp) >= r.trigger_ms AND toUnixTimestamp64Milli(e.timestamp) < s.sent_ms
       AND e.message_id != r.trigger_message
       ${byKey ? `AND ${keyExpr} = r.corr` : ''}
     ORDER BY e.timestamp
     LIMIT 1 BY s.message_id`,
    { ...p, journey: j.id, exit: x.event, ...Object.fromEntries(path.map((k, i) => [`k${i}`, k])) },
  )
}

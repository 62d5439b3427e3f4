import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../../clickhouse/store.js'

/** The sends in the range (`{from}`..`{until}`), one row per message: the base every class query joins. */
export const SENDS = `
  SELECT message_id, any(journey_id) AS journey_id, any(user_key) AS user_key, any(workflow_id) AS workflow_id, any(step_id) AS step_id,
         any(topic) AS topic, any(recipient_hash) AS recipient_hash, max(is_test) AS test,
         toUnixTimestamp64Milli(min(at)) AS sent_ms
  FROM send_ledger
  WHERE status = 'sent' AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
  GROUP BY message_id`

/** The runs behind those sends: their trigger, correlation value and every (re)start. */
export const RUNS = `
  SELECT workflow_id, any(correlation) AS corr, groupArray(toUnixTimestamp64Milli(received_at)) AS starts, toUnixTimestamp64Milli(min(trigger_at)) AS trigger_ms,
         toUnixTimestamp64Milli(min(received_at)) AS received_ms, any(trigger_message_id) AS trigger_message
  FROM journey_runs WHERE phase = 'started' AND workflow_id IN (SELECT workflow_id FROM (${SENDS}))
  GROUP BY workflow_id`

export type Send = {
  message_id: string
  journey_id: string
  user_key: string
  workflow_id: string
  step_id: string
  topic: string
  test: number
  sent_ms: number
}

/** A send with its run and the user's time zone trait: all the per-send checks need. */
export type SendWithRun = Send & {
  corr: string
  starts: (number | string)[]
  trigger_ms: number
  received_ms: number
  trigger_message: string
  tz: string
}

export type Range = { from: number; until: number }

export function loadSends(client: ClickHouseClient, p: Range): Promise<SendWithRun[]> {
  return selectRows<SendWithRun>(
    client,
    `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.workflow_id AS workflow_id, s.step_id AS step_id, s.topic AS topic,
            s.test AS test, s.sent_ms AS sent_ms, r.corr AS corr, r.starts AS starts, r.trigger_ms AS trigger_ms, r.received_ms AS received_ms, r.trigger_message AS trigger_message,
            ifNull(t.tz, '') AS tz
     FROM (${SENDS}) AS s
     LEFT JOIN (${RUNS}) AS r ON r.workflow_id = s.workflow_id
     LEFT JOIN (SELECT user_key, JSONExtractString(argMax(value, updated_at)) AS tz FROM traits WHERE key = 'timezone' GROUP BY user_key) AS t ON t.user_key = s.user_key
     ORDER BY s.sent_ms`,
    p,
  )
}

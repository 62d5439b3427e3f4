import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../../clickhouse/store.js'
import { type Finding, type JourneyExits, finding, iso } from './model.js'
import { type Range, SENDS } from './sendsSql.js'

type MovedRow = {
  message_id: string
  journey_id: string
  user_key: string
  sent_ms: number
  decided_ms: number
  member: number
  changed_ms: number
  cause: string
  segment: string
}

/**
 * condition_false_at_send: a segment-triggered run's condition re-evaluated at the send — the
 * user's last segment transition before it no longer matches the membership that started the run.
 */
export async function conditionFalseAtSend(client: ClickHouseClient, p: Range, journeys: JourneyExits[]): Promise<Finding[]> {
  const bySegment = journeys.filter((j) => j.segment)
  if (!bySegment.length) return []
  const findings: Finding[] = []
  for (const r of await lastTransitions(client, p, bySegment)) {
    const want = journeys.find((j) => j.id === r.journey_id)!.segment!.member
    if (Number(r.member) === (want ? 1 : 0)) continue
    findings.push(
      finding('condition_false_at_send', r, {
        segment: { id: r.segment, memberRequired: want, member: Number(r.member) === 1, changedAt: iso(r.changed_ms), cause: r.cause },
        decidedAt: iso(r.decided_ms),
        sentAt: iso(r.sent_ms),
        // Changed only after the check decided to send: a race the check could not have seen.
        race: Number(r.changed_ms) > Number(r.decided_ms),
      }),
    )
  }
  return findings
}

function lastTransitions(client: ClickHouseClient, p: Range, bySegment: JourneyExits[]) {
  return selectRows<MovedRow>(
    client,
    `SELECT s.message_id AS message_id, any(s.journey_id) AS journey_id, any(s.user_key) AS user_key, any(s.sent_ms) AS sent_ms, any(s.decided_ms) AS decided_ms,
            any(t.segment_id) AS segment, argMax(t.entered, t.at) AS member, toUnixTimestamp64Milli(max(t.at)) AS changed_ms, argMax(t.cause, t.at) AS cause
     FROM (
       SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms, s.test AS test, d.decided_ms AS decided_ms
       FROM (${SENDS}) AS s
       INNER JOIN (SELECT message_id, toUnixTimestamp64Milli(min(at)) AS decided_ms FROM send_ledger
                   WHERE journey_id IN {journeys:Array(String)} AND at < fromUnixTimestamp64Milli({until:Int64}) GROUP BY message_id) AS d ON d.message_id = s.message_id
       WHERE s.test = 0 AND s.journey_id IN {journeys:Array(String)}
     ) AS s
     INNER JOIN (
       SELECT segment_id, user_key, entered, at, cause FROM segment_transitions
       WHERE segment_id IN {segments:Array(String)} AND at < fromUnixTimestamp64Milli({until:Int64})
     ) AS t ON t.user_key = s.user_key
     WHERE t.segment_id = transform(s.journey_id, {journeys:Array(String)}, {segments:Array(String)}, '') AND toUnixTimestamp64Milli(t.at) <= s.sent_ms
     GROUP BY s.message_id`,
    { ...p, journeys: bySegment.map((j) => j.id), segments: bySegment.map((j) => j.segment!.id) },
  )
}

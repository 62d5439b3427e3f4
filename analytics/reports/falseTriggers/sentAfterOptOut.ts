import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../../clickhouse/store.js'
import { type Finding, finding, iso } from './model.js'
import { type Range, SENDS } from './sendsSql.js'

/** sent_after_opt_out: consent for the send's topic withdrawn, or the address suppressed, before the send. */
export async function sentAfterOptOut(client: ClickHouseClient, p: Range): Promise<Finding[]> {
  const findings = (await consentWithdrawn(client, p)).map((r) =>
    finding('sent_after_opt_out', r, {
      consent: { topic: r.topic, granted: false, changedAt: iso(r.changed_ms), source: r.source },
      sentAt: iso(r.sent_ms),
    }),
  )
  for (const r of await addressSuppressed(client, p))
    findings.push(finding('sent_after_opt_out', r, { suppression: { reason: r.reason, at: iso(r.at_ms) }, sentAt: iso(r.sent_ms) }))
  return findings
}

function consentWithdrawn(client: ClickHouseClient, p: Range) {
  return selectRows<{
    message_id: string
    journey_id: string
    user_key: string
    sent_ms: number
    topic: string
    changed_ms: number
    source: string
  }>(
    client,
    `SELECT s.message_id AS message_id, any(s.journey_id) AS journey_id, any(s.user_key) AS user_key, any(s.sent_ms) AS sent_ms, any(s.topic) AS topic,
            argMax(c.granted, c.changed_ms) AS g, max(c.changed_ms) AS changed_ms, argMax(c.source, c.changed_ms) AS source
     FROM (${SENDS}) AS s
     INNER JOIN (SELECT user_key, topic, granted, source, toUnixTimestamp64Milli(changed_at) AS changed_ms FROM consent) AS c ON c.user_key = s.user_key AND c.topic = s.topic
     WHERE c.changed_ms < s.sent_ms AND s.test = 0
     GROUP BY s.message_id
     HAVING g = 0`,
    p,
  )
}

function addressSuppressed(client: ClickHouseClient, p: Range) {
  return selectRows<{
    message_id: string
    journey_id: string
    user_key: string
    sent_ms: number
    reason: string
    at_ms: number
  }>(
    client,
    `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms, sp.reason AS reason, toUnixTimestamp64Milli(sp.at) AS at_ms
     FROM (${SENDS}) AS s INNER JOIN (SELECT * FROM suppressions FINAL WHERE active = 1) AS sp ON sp.lookup_hash = s.recipient_hash
     WHERE toUnixTimestamp64Milli(sp.at) < s.sent_ms AND s.test = 0 AND s.recipient_hash != ''`,
    p,
  )
}

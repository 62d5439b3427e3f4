import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/**
 * Which of these events the store already holds. The consumer asks for every batch: the writer's
 * own dedupe window knows only what this process stored, while a partition that moved here in a
 * rebalance (or was rewound) holds events another consumer stored and never committed.
 *
 * Usually `message_ids` answers (ordered by message_id: a point lookup per id). It is filled by a
 * view in the same INSERT as the event row, but the two parts are not committed atomically: a
 * process killed inside an insert can leave an event row without its id. So the first batch of a
 * partition after it is assigned, and a batch retried after a failed write — the only batches
 * that can follow such an insert — are also looked up in `events` itself, by user key (its
 * primary key's prefix) and id: about three times the cost, paid only then.
 */
export async function storedIds(
  client: ClickHouseClient,
  events: readonly { messageId: string; userKey: string }[],
  thorough: boolean,
): Promise<Set<string>> {
  if (!events.length) return new Set()
  const ids = events.map((e) => e.messageId)
  const sql = thorough
    ? `SELECT message_id FROM message_ids WHERE message_id IN {ids:Array(String)}
       UNION DISTINCT
       SELECT message_id FROM events WHERE user_key IN {keys:Array(String)} AND message_id IN {ids:Array(String)}`
    : 'SELECT DISTINCT message_id FROM message_ids WHERE message_id IN {ids:Array(String)}'
  const params = thorough ? { ids, keys: [...new Set(events.map((e) => e.userKey))] } : { ids }
  const rows = await selectRows<{ message_id: string }>(client, sql, params)
  return new Set(rows.map((r) => r.message_id))
}

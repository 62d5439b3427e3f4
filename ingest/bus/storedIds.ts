import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/**
 * Which of these message ids the store already holds. The consumer asks for every batch: the
 * writer's own dedupe window knows only what this process stored, while a partition that moved
 * here in a rebalance (or was rewound) holds events another consumer stored and never committed.
 * `message_ids` is ordered by message_id, so this is a point lookup per id.
 */
export async function storedIds(client: ClickHouseClient, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set()
  const rows = await selectRows<{ message_id: string }>(
    client,
    'SELECT DISTINCT message_id FROM message_ids WHERE message_id IN {ids:Array(String)}',
    { ids },
  )
  return new Set(rows.map((r) => r.message_id))
}

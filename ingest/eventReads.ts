import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { parseJsonObject } from '../core/jsonText.js'

export interface StoredEvent {
  userKey: string
  messageId: string
  event: string
  properties: Record<string, unknown>
  timestamp: number
}

/** Reads of stored track events (ingest owns the events table). */
export class EventReads {
  constructor(private readonly client: ClickHouseClient) {}

  /** These users' events named in `recent` at or after `since`, and those named in `ever` whenever. */
  async ofUsers(
    userKeys: readonly string[],
    q: { recent: readonly string[]; since: number; ever: readonly string[] },
  ): Promise<StoredEvent[]> {
    const rows = await selectRows<{ user_key: string; message_id: string; event: string; properties: string; ts: string }>(
      this.client,
      `SELECT user_key, message_id, event, properties, toUnixTimestamp64Milli(timestamp) AS ts FROM events
       WHERE user_key IN {keys:Array(String)}
         AND ((event IN {exits:Array(String)} AND timestamp >= fromUnixTimestamp64Milli({since:Int64})) OR event IN {suppress:Array(String)})`,
      { keys: userKeys, exits: q.recent, since: q.since, suppress: q.ever },
    )
    return rows.map((e) => ({
      userKey: e.user_key,
      messageId: e.message_id,
      event: e.event,
      properties: parseJsonObject(e.properties),
      timestamp: Number(e.ts),
    }))
  }
}

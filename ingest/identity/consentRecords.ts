import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/**
 * Consent as stored (not this process's memory): what a check that must hold across processes
 * reads. Key: user key and topic joined by NUL; absent = never recorded (the default applies).
 */
export class ConsentRecords {
  constructor(private readonly client: ClickHouseClient) {}

  async grants(userKeys: readonly string[]): Promise<Map<string, boolean>> {
    const rows = await selectRows<{ user_key: string; topic: string; granted: number }>(
      this.client,
      'SELECT user_key, topic, argMax(granted, changed_at) AS granted FROM consent WHERE user_key IN {keys:Array(String)} GROUP BY user_key, topic',
      { keys: userKeys },
    )
    return new Map(rows.map((r) => [consentKey(r.user_key, r.topic), Number(r.granted) === 1]))
  }
}

export const consentKey = (userKey: string, topic: string) => `${userKey}\u0000${topic}`

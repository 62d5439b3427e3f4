import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'

/** How far the feeder has read each source (`destination_cursors`): shared by every process, kept across restarts. */
export class Cursors {
  constructor(private readonly client: ClickHouseClient) {}

  async get(source: string): Promise<number | undefined> {
    const [row] = await selectRows<{ p: string | number }>(
      this.client,
      'SELECT argMax(position, updated_at) AS p FROM destination_cursors WHERE source = {s:String} GROUP BY source',
      { s: source },
    )
    return row ? Number(row.p) : undefined
  }

  async set(source: string, position: number, now = Date.now()): Promise<void> {
    await this.client.insert({ table: 'destination_cursors', format: 'JSONEachRow', values: [{ source, position, updated_at: now }] })
  }
}

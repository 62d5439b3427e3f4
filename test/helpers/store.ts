import type { ClickHouseClient } from '@clickhouse/client'
import { migrate } from '../../clickhouse/migrate.js'
import { type Store, openStore, selectRows } from '../../clickhouse/store.js'

export async function eventRows(client: ClickHouseClient, where = '1', params: Record<string, unknown> = {}) {
  return selectRows<Record<string, any>>(client, `SELECT * FROM events WHERE ${where} ORDER BY timestamp, message_id`, params)
}

export async function countRows(
  client: ClickHouseClient,
  table: string,
  where = '1',
  params: Record<string, unknown> = {},
): Promise<number> {
  const [row] = await selectRows<{ n: number | string }>(client, `SELECT count() AS n FROM ${table} WHERE ${where}`, params)
  return Number(row?.n ?? 0)
}

/** A store on its own data directory with every migration applied: the start of each test on planted rows. */
export async function openMigratedStore(dataDir: string): Promise<Store> {
  const store = await openStore({ dataDir })
  await migrate(store.client)
  return store
}

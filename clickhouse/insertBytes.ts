import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'

/**
 * Inserts a payload that is already in the engine's input format, as bytes. On the embedded
 * engine the Buffer goes to chdb's raw insert, which hands it to the native side as it is: the
 * client's own path would turn it into a JS string, glue it to the statement and encode it again
 * (a copy of every byte, twice, on the main thread). Over HTTP it is the client's ordinary insert.
 */
export interface BytesInsert {
  table: string
  columns?: readonly string[]
  format: 'TabSeparated' | 'JSONEachRow'
  body: Buffer
  settings?: Record<string, string | number>
}

type RawInsert = (p: {
  table: string
  values: Buffer
  format: BytesInsert['format']
  columns?: readonly string[]
  settings?: Record<string, string | number>
}) => Promise<unknown>

/** Clients on the embedded engine, with their connection's raw insert (registered by openStore). */
const rawInserts = new WeakMap<ClickHouseClient, RawInsert>()

export function registerRawInsert(client: ClickHouseClient, raw: RawInsert): void {
  rawInserts.set(client, raw)
}

export async function insertBytes(client: ClickHouseClient, p: BytesInsert): Promise<void> {
  if (p.body.length === 0) return
  const raw = rawInserts.get(client)
  if (raw) {
    await raw({ table: p.table, values: p.body, format: p.format, columns: p.columns, settings: p.settings })
    return
  }
  await client.insert({
    table: p.table,
    columns: p.columns ? ([...p.columns] as [string, ...string[]]) : undefined,
    values: Readable.from([p.body], { objectMode: false }),
    format: p.format,
    clickhouse_settings: p.settings,
  })
}

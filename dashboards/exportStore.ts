import { createWriteStream, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import type { ClickHouseClient } from '@clickhouse/client'
import { openStore } from '../clickhouse/store.js'

/**
 * Grafana's ClickHouse data source needs a ClickHouse server; the embedded engine (chdb) lives
 * inside the Nudge process. To look at a demo's data in Grafana, copy what the dashboards read
 * out of the embedded store into a server: one ClickHouse Native file per table (exact types,
 * compact), loaded with ClickHouse's HTTP interface.
 *
 *   npm start … Ctrl-C (the embedded engine holds its directory while Nudge runs)
 *   node --import tsx dashboards/exportStore.ts [DATA_DIR/clickhouse] [out dir]
 *
 * It prints the `curl` commands that load the files into a server whose tables exist (start Nudge
 * once with CLICKHOUSE_URL pointing at it: its migrations create them).
 */
export const DASHBOARD_TABLES = [
  'journeys',
  'journey_runs',
  'journey_steps',
  'send_ledger',
  'message_events',
  'experiments',
  'experiment_exposures',
  'events',
  'false_triggers',
  'destination_outbox',
] as const

/** Writes `<table>.native` for each table into `outDir`; returns table → rows written. */
export async function exportTables(
  client: ClickHouseClient,
  outDir: string,
  tables: readonly string[] = DASHBOARD_TABLES,
): Promise<Record<string, number>> {
  mkdirSync(outDir, { recursive: true })
  const counts: Record<string, number> = {}
  for (const table of tables) {
    if (!/^\w+$/.test(table)) throw new Error(`not a table name: ${table}`)
    const res = await client.exec({ query: `SELECT * FROM ${table} FORMAT Native` })
    await pipeline(res.stream, createWriteStream(join(outDir, `${table}.native`)))
    const [row] = await (
      await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
    ).json<{ n: number | string }>()
    counts[table] = Number(row?.n ?? 0)
  }
  return counts
}

/** The commands that load the files into a ClickHouse server (its HTTP interface). */
export function importCommands(outDir: string, tables: readonly string[] = DASHBOARD_TABLES): string[] {
  return tables.map(
    (t) =>
      `curl -sS --fail -u "$CLICKHOUSE_USER:$CLICKHOUSE_PASSWORD" --data-binary @${join(outDir, `${t}.native`)} "$CLICKHOUSE_URL/?database=\${CLICKHOUSE_DATABASE:-default}&query=INSERT%20INTO%20${t}%20FORMAT%20Native"`,
  )
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dataDir = resolve(process.argv[2] ?? join(process.env.DATA_DIR ?? '.data', 'clickhouse'))
  const outDir = resolve(process.argv[3] ?? join(process.env.DATA_DIR ?? '.data', 'export'))
  const store = await openStore({ dataDir })
  try {
    const counts = await exportTables(store.client, outDir)
    console.log(`Exported from ${store.describe} to ${outDir}:`)
    for (const [t, n] of Object.entries(counts)) console.log(`  ${t}.native  ${n} rows`)
    console.log("\nLoad into a ClickHouse server with Nudge's tables (CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD set):")
    for (const c of importCommands(outDir)) console.log(`  ${c}`)
  } finally {
    await store.close()
  }
}

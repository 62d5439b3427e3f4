import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClickHouseClient } from '@clickhouse/client'
import { type ClusterOptions, toClusterStatements } from './clusterDdl.js'
import { selectRows } from './store.js'

/**
 * Versioned, idempotent migrations: `migrations/NNN_name.sql`, applied in order, recorded in
 * `nudge_migrations`. Every statement is itself `IF NOT EXISTS`, so a crash between a
 * statement and its record is harmless on the next run.
 *
 * With a cluster (CLICKHOUSE_CLUSTER) the same files are rewritten statement by statement into
 * replicated, sharded `ON CLUSTER` DDL (clusterDdl.ts); without one they run exactly as written.
 */
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations')

export interface Migration {
  version: number
  name: string
  statements: string[]
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 3)),
      name: file.slice(4, -4),
      statements: splitStatements(readFileSync(join(dir, file), 'utf8')),
    }))
}

export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean)
}

export const MIGRATIONS_LEDGER_DDL = `CREATE TABLE IF NOT EXISTS nudge_migrations (version UInt32, name String, applied_at DateTime64(3, 'UTC'))
            ENGINE = ReplacingMergeTree ORDER BY version`

/** What runs for these statements: themselves, or their cluster form. */
export function migrationStatements(statements: string[], cluster?: ClusterOptions): string[] {
  return cluster ? statements.flatMap((s) => toClusterStatements(s, cluster)) : statements
}

export async function migrate(client: ClickHouseClient, migrations = loadMigrations(), cluster?: ClusterOptions): Promise<number[]> {
  // Every statement is rewritten before the first runs: one the cluster transform cannot place
  // stops the migration before it has changed anything (one server: the same strings, unchanged).
  const ledger = migrationStatements([MIGRATIONS_LEDGER_DDL], cluster)
  const planned = migrations.map((m) => ({ ...m, statements: migrationStatements(m.statements, cluster) }))
  for (const query of ledger) await client.command({ query })
  const done = new Set(
    (await selectRows<{ version: number }>(client, 'SELECT version FROM nudge_migrations FINAL')).map((r) => Number(r.version)),
  )
  const applied: number[] = []
  for (const m of planned) {
    if (done.has(m.version)) continue
    for (const statement of m.statements) await client.command({ query: statement })
    await client.insert({
      table: 'nudge_migrations',
      values: [{ version: m.version, name: m.name, applied_at: Date.now() }],
      format: 'JSONEachRow',
    })
    applied.push(m.version)
  }
  return applied
}

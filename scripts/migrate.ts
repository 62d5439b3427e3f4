import { CLUSTER_QUERY_SETTINGS } from '../clickhouse/clusterSettings.js'
import { MIGRATIONS_LEDGER_DDL, loadMigrations, migrate, migrationStatements } from '../clickhouse/migrate.js'
import { openStore } from '../clickhouse/store.js'
import { configOrExit } from '../runtime/processLifecycle.js'

/**
 * `npm run migrate`: applies the pending migrations to CLICKHOUSE_URL once, as a deploy step, so a
 * rollout of many processes does not queue the same `ON CLUSTER` DDL once per process (each
 * process still checks at start, which is one read of the ledger when nothing is pending).
 * `npm run migrate -- --print` connects nowhere: it prints every statement the migrations would
 * run — the cluster form when CLICKHOUSE_CLUSTER is set — for review or for clickhouse-client.
 */
const print = process.argv.includes('--print')
const config = configOrExit((c) =>
  print || c.CLICKHOUSE_URL ? [] : ['CLICKHOUSE_URL: required (the embedded engine migrates itself at start)'],
)
const cluster = config.CLICKHOUSE_CLUSTER
  ? { cluster: config.CLICKHOUSE_CLUSTER, database: config.CLICKHOUSE_DATABASE ?? 'default' }
  : undefined

if (print) {
  const out = [`-- migrations ledger`, ...migrationStatements([MIGRATIONS_LEDGER_DDL], cluster)]
  for (const m of loadMigrations())
    out.push(`-- ${String(m.version).padStart(3, '0')}_${m.name}`, ...migrationStatements(m.statements, cluster))
  process.stdout.write(out.map((s) => (s.startsWith('--') ? s : `${s};`)).join('\n\n') + '\n')
} else {
  const store = await openStore({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    settings: cluster ? CLUSTER_QUERY_SETTINGS : undefined,
    // ON CLUSTER DDL waits for every node to answer.
    requestTimeoutMs: 600_000,
  })
  try {
    const applied = await migrate(store.client, loadMigrations(), cluster)
    process.stdout.write(`${store.describe}: ${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'}\n`)
  } finally {
    await store.close()
  }
}

import { describe, expect, it } from 'vitest'
import { MIGRATIONS_LEDGER_DDL, loadMigrations, migrationStatements } from '../../clickhouse/migrate.js'

/**
 * The DDL each migration file runs, in both modes, as reviewable .sql files: one server (the file
 * as written) and a cluster named `nudge` on the client's default database. A change to a
 * migration or to the cluster rules shows up here as a diff to read
 * (`npx vitest run test/unit/clusterDdl.snapshots.test.ts -u` accepts it).
 */
const cluster = { cluster: 'nudge', database: 'default' }
const files = [{ file: '000_ledger', statements: [MIGRATIONS_LEDGER_DDL] }].concat(
  loadMigrations().map((m) => ({ file: `${String(m.version).padStart(3, '0')}_${m.name}`, statements: m.statements })),
)
const sql = (statements: string[]) => statements.map((s) => `${s};\n`).join('\n')

describe('generated DDL per migration file', () => {
  for (const { file, statements } of files) {
    it(`${file}: one server (as written)`, async () => {
      await expect(sql(migrationStatements(statements))).toMatchFileSnapshot(`./__snapshots__/clusterDdl/${file}.server.sql`)
    })
    it(`${file}: CLICKHOUSE_CLUSTER=nudge`, async () => {
      await expect(sql(migrationStatements(statements, cluster))).toMatchFileSnapshot(`./__snapshots__/clusterDdl/${file}.cluster.sql`)
    })
  }
})

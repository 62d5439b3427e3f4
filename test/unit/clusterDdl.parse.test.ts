import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TABLE_PLACEMENT } from '../../clickhouse/clusterTables.js'
import { MIGRATIONS_LEDGER_DDL, loadMigrations, migrate, migrationStatements } from '../../clickhouse/migrate.js'
import { type Store, openStore, selectRows } from '../../clickhouse/store.js'

/**
 * No ClickHouse cluster runs here, so the cluster DDL is checked by the real engine's parser:
 * chdb's `formatQuerySingleLine` parses a statement and prints it back without running it. The
 * one-server DDL is also run, as every test store runs it.
 */
const cluster = { cluster: 'nudge', database: 'default' }
const plain = [MIGRATIONS_LEDGER_DDL, ...loadMigrations().flatMap((m) => m.statements)]
const clustered = migrationStatements(plain, cluster)

let dir: string
let store: Store
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nudge-cluster-ddl-'))
  store = await openStore({ dataDir: dir })
})
afterAll(async () => {
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function format(statement: string): Promise<string> {
  const [row] = await selectRows<{ f: string }>(store.client, 'SELECT formatQuerySingleLine({q:String}) AS f', { q: statement })
  return row!.f
}

describe('generated DDL parses with the real engine (chdb 26.7)', () => {
  it('the parser refuses broken DDL, so a pass below means something', async () => {
    await expect(format('CREATE TABLE t ON CLUSTER nudge (a String ENGINE = MergeTree')).rejects.toThrow(/Syntax error/)
  })

  it('every cluster statement parses, and the parser read ON CLUSTER, the engines and the macros as written', async () => {
    expect(clustered.length).toBeGreaterThan(plain.length)
    for (const s of clustered) {
      const f = await format(s)
      expect(f, s).toMatch(/ ON CLUSTER nudge /)
      if (/ENGINE = Replicated/.test(s))
        expect(f, s).toMatch(/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/(\{shard\}|all)\/\{database\}\/\{table\}'/)
      if (/ENGINE = Distributed/.test(s))
        expect(f, s).toMatch(/ENGINE = Distributed\('nudge', 'default', '\w+_local'(, cityHash64\(\w+\))?\)/)
    }
  })

  it('every one-server statement parses too', async () => {
    for (const s of plain) expect(await format(s), s).toMatch(/^(CREATE|ALTER)/)
  })
})

describe('migrate with a cluster stops before its first statement when one cannot be placed', () => {
  it('nothing runs, not even the ledger', async () => {
    const bad = { version: 999, name: 'bad', statements: ['CREATE TABLE IF NOT EXISTS unplaced (a String) ENGINE = MergeTree ORDER BY a'] }
    await expect(migrate(store.client, [...loadMigrations(), bad], cluster)).rejects.toThrow(/table "unplaced" has no placement/)
    const [row] = await selectRows<{ n: string }>(store.client, 'SELECT count() AS n FROM system.tables WHERE database = currentDatabase()')
    expect(Number(row!.n)).toBe(0)
  })
})

describe('one server: the migrations create what they always did', () => {
  it('migrated without a cluster, the store has no Replicated or Distributed table and every placement names a real table', async () => {
    await migrate(store.client)
    const tables = await selectRows<{ name: string; engine: string }>(
      store.client,
      "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND engine NOT LIKE '%View'",
    )
    expect(tables.filter((t) => /Replicated|Distributed/.test(t.engine))).toEqual([])
    expect(tables.map((t) => t.name).sort()).toEqual(Object.keys(TABLE_PLACEMENT).sort())
  })

  it('every sharding expression is computable over its table (the column exists and hashes)', async () => {
    for (const [table, p] of Object.entries(TABLE_PLACEMENT)) {
      if (p.kind !== 'sharded') continue
      const [row] = await selectRows<{ n: string }>(store.client, `SELECT count(cityHash64(${p.by})) AS n FROM ${table}`)
      expect(Number(row!.n), table).toBe(0)
    }
  })
})

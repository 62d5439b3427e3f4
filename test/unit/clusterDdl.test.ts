import { describe, expect, it } from 'vitest'
import {
  EVERYWHERE_PATH,
  EVERYWHERE_REPLICA,
  SHARD_PATH,
  SHARD_REPLICA,
  coLocated,
  toClusterStatements,
} from '../../clickhouse/clusterDdl.js'
import { TABLE_PLACEMENT } from '../../clickhouse/clusterTables.js'
import { ClusterDdlError, parseDdl } from '../../clickhouse/ddlShape.js'
import { MIGRATIONS_LEDGER_DDL, loadMigrations, migrationStatements } from '../../clickhouse/migrate.js'
import { ERASED_TABLES } from '../../ingest/erasure/tablePlan.js'
import { ConfigError, loadConfig } from '../../runtime/config.js'

const opts = { cluster: 'nudge', database: 'nudge_db' }
const all = loadMigrations().flatMap((m) => m.statements)
type Shape = ReturnType<typeof parseDdl>
type CreateTable = Extract<Shape, { kind: 'createTable' }>
type CreateView = Extract<Shape, { kind: 'createView' }>
const createdTables = [MIGRATIONS_LEDGER_DDL, ...all].map(parseDdl).filter((s): s is CreateTable => s.kind === 'createTable')

describe('cluster DDL: placements are data, and complete', () => {
  it('every table the migrations create has a placement, and no placement names a table that does not exist', () => {
    const names = createdTables.map((t) => t.table)
    expect(names.filter((t) => !(t in TABLE_PLACEMENT))).toEqual([])
    expect(Object.keys(TABLE_PLACEMENT).filter((t) => !names.includes(t))).toEqual([])
  })

  it('sharding key per table: per-user tables by their user column, the rest everywhere or view-fed', () => {
    const key = Object.fromEntries(
      Object.entries(TABLE_PLACEMENT).map(([t, p]) => [
        t,
        p.kind === 'sharded' ? p.by : p.kind === 'view' ? `view of ${p.of}` : 'everywhere',
      ]),
    )
    expect(key).toEqual({
      nudge_migrations: 'everywhere',
      events: 'user_key',
      message_ids: 'view of events',
      traits: 'user_key',
      contacts: 'user_key',
      identities: 'user_id',
      consent: 'user_key',
      erasures: 'everywhere',
      segments: 'everywhere',
      segment_membership: 'user_key',
      segment_transitions: 'user_key',
      experiments: 'everywhere',
      experiment_exposures: 'unit',
      flags: 'everywhere',
      flag_audit: 'everywhere',
      journeys: 'everywhere',
      journey_runs: 'user_key',
      journey_steps: 'user_key',
      send_ledger: 'user_key',
      mailbox: 'message_id',
      journey_router_progress: 'everywhere',
      products: 'everywhere',
      templates: 'everywhere',
      discount_codes: 'user_key',
      message_events: 'user_key',
      message_bodies: 'user_key',
      suppressions: 'everywhere',
      false_triggers: 'user_key',
      erased_ids: 'everywhere',
      destinations: 'everywhere',
      destination_cursors: 'everywhere',
      destination_outbox: 'user_key',
    })
  })

  it('a sharded table is sharded by one of its own columns', () => {
    for (const t of createdTables) {
      const p = TABLE_PLACEMENT[t.table]!
      if (p.kind === 'sharded') expect(t.body, t.table).toMatch(new RegExp(`^\\s*${p.by}\\s`, 'm'))
    }
  })

  it('a replacing table collapses only rows on one shard: its shard key is in its sorting key (two exceptions, each argued in clusterTables.ts)', () => {
    const exceptions: Record<string, string> = {
      // A code is minted for one message of one user.
      discount_codes: 'user_key',
      // View-fed from events: a message id is one event's, and an event one user's.
      message_ids: 'events',
    }
    for (const t of createdTables) {
      const p = TABLE_PLACEMENT[t.table]!
      if (!t.engine.startsWith('Replacing') || p.kind === 'everywhere') continue
      const orderBy = /ORDER BY\s+\(?([^)\n]+)/.exec(t.tail)![1]!
      const key = p.kind === 'sharded' ? p.by : p.of
      if (t.table in exceptions) expect(key).toBe(exceptions[t.table])
      else
        expect(
          orderBy.split(',').map((c) => c.trim()),
          t.table,
        ).toContain(key)
    }
  })
})

describe('cluster DDL: engines, macros and ON CLUSTER', () => {
  it('a sharded table becomes <name>_local (Replicated…, per-shard Keeper path) and a Distributed <name> hashed by its user column', () => {
    const [local, dist] = toClusterStatements(
      "CREATE TABLE IF NOT EXISTS traits (user_key String, key String, updated_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (user_key, key)",
      opts,
    )
    expect(local).toBe(
      `CREATE TABLE IF NOT EXISTS traits_local ON CLUSTER nudge (user_key String, key String, updated_at DateTime64(3, 'UTC'))\n` +
        `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)\nORDER BY (user_key, key)`,
    )
    expect(dist).toBe(
      `CREATE TABLE IF NOT EXISTS traits ON CLUSTER nudge AS traits_local\nENGINE = Distributed('nudge', 'nudge_db', 'traits_local', cityHash64(user_key))`,
    )
  })

  it('macros: {shard}/{replica} for sharded tables; one cluster-wide path with {shard}-{replica} names for tables on every node', () => {
    expect([SHARD_PATH, SHARD_REPLICA]).toEqual(['/clickhouse/tables/{shard}/{database}/{table}', '{replica}'])
    expect([EVERYWHERE_PATH, EVERYWHERE_REPLICA]).toEqual(['/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}'])
    const [segments, ...rest] = toClusterStatements(
      all.find((s) => /TABLE IF NOT EXISTS segments /.test(s))!,
      opts,
    )
    expect(rest).toEqual([])
    expect(segments).toContain(`CREATE TABLE IF NOT EXISTS segments ON CLUSTER nudge (`)
    expect(segments).toContain(
      `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', version)`,
    )
    expect(segments).not.toMatch(/Distributed|_local/)
  })

  it('engine mapping: every MergeTree flavour gets its Replicated form with the original arguments after the Keeper path and replica', () => {
    for (const [engine, args] of [
      ['MergeTree', ''],
      ['ReplacingMergeTree', 'v'],
      ['SummingMergeTree', '(a, b)'],
      ['AggregatingMergeTree', ''],
      ['CollapsingMergeTree', 'sign'],
      ['VersionedCollapsingMergeTree', 'sign, v'],
    ]) {
      const [local] = toClusterStatements(
        `CREATE TABLE events (user_key String) ENGINE = ${engine}${args ? `(${args})` : ''} ORDER BY user_key`,
        opts,
      )
      expect(local).toContain(`ENGINE = Replicated${engine}('${SHARD_PATH}', '${SHARD_REPLICA}'${args ? `, ${args}` : ''})`)
    }
    expect(() => toClusterStatements('CREATE TABLE events (a String) ENGINE = Memory', opts)).toThrow(/Memory has no replicated form/)
  })

  it('a view-fed table gets a Distributed table without a sharding key (a direct insert is refused, not misplaced)', () => {
    const stmts = toClusterStatements(
      all.find((s) => /TABLE IF NOT EXISTS message_ids /.test(s))!,
      opts,
    )
    expect(stmts[1]).toBe(
      `CREATE TABLE IF NOT EXISTS message_ids ON CLUSTER nudge AS message_ids_local\nENGINE = Distributed('nudge', 'nudge_db', 'message_ids_local')`,
    )
  })

  it('every generated statement carries ON CLUSTER right after the name it creates, alters or drops', () => {
    for (const s of migrationStatements(all, opts))
      expect(s).toMatch(/^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|ALTER TABLE|DROP (TABLE|VIEW) IF EXISTS) \w+ ON CLUSTER nudge /)
  })

  it('cluster and database names must be identifiers (they are spliced into DDL)', () => {
    expect(() => toClusterStatements(all[0]!, { cluster: "x'; DROP", database: 'd' })).toThrow(ClusterDdlError)
    expect(() => toClusterStatements(all[0]!, { cluster: 'c', database: 'a.b' })).toThrow(/database "a.b" must be an identifier/)
  })
})

describe('cluster DDL: views, ALTERs and DROPs', () => {
  it('materialized views are local-to-local: read the local source, write the local target', () => {
    const views = migrationStatements(all, opts).filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'))
    expect(views).toEqual([
      'CREATE MATERIALIZED VIEW IF NOT EXISTS events_to_message_ids ON CLUSTER nudge TO message_ids_local AS\nSELECT message_id, received_at FROM events_local',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS segment_transitions_to_membership ON CLUSTER nudge TO segment_membership_local AS\n' +
        'SELECT segment_id, user_key, entered AS is_member, at AS changed_at FROM segment_transitions_local',
    ])
  })

  it('a view whose target would sit on another shard than its source is refused, with the reason', () => {
    const view = (select: string, target = 'segment_membership', source = 'segment_transitions') =>
      parseDdl(`CREATE MATERIALIZED VIEW v TO ${target} AS SELECT ${select} FROM ${source}`) as CreateView
    const p = (t: string) => TABLE_PLACEMENT[t]!
    expect(coLocated(view('segment_id, user_key'), p('segment_transitions'), p('segment_membership'))).toBe('')
    expect(coLocated(view('segment_id, trigger_message_id AS user_key'), p('segment_transitions'), p('segment_membership'))).toMatch(
      /not the source's shard key/,
    )
    expect(coLocated(view('segment_id'), p('segment_transitions'), p('segment_membership'))).toMatch(
      /does not select the target's shard key user_key/,
    )
    expect(coLocated(view('id', 'segments'), p('segment_transitions'), p('segments'))).toMatch(/target is on every node/)
    expect(coLocated(view('message_id', 'message_ids', 'send_ledger'), p('send_ledger'), p('message_ids'))).toMatch(/fed by events/)
    expect(() => toClusterStatements('CREATE MATERIALIZED VIEW v TO segments AS SELECT user_key AS id FROM events', opts)).toThrow(
      /another shard/,
    )
    expect(() =>
      toClusterStatements('CREATE MATERIALIZED VIEW v TO traits AS SELECT a FROM events JOIN traits USING user_key', opts),
    ).toThrow(/one table/)
  })

  it('ALTER … ADD COLUMN goes to the local table, then to the Distributed table (which must learn the column to read it)', () => {
    expect(toClusterStatements('ALTER TABLE events ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0', opts)).toEqual([
      'ALTER TABLE events_local ON CLUSTER nudge ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0',
      'ALTER TABLE events ON CLUSTER nudge ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0',
    ])
  })

  it('ADD INDEX, MODIFY TTL, settings and mutations are storage: the local table only; on an everywhere table, the table itself', () => {
    expect(
      toClusterStatements('ALTER TABLE send_ledger ADD INDEX IF NOT EXISTS i message_id TYPE bloom_filter GRANULARITY 1', opts),
    ).toEqual(['ALTER TABLE send_ledger_local ON CLUSTER nudge ADD INDEX IF NOT EXISTS i message_id TYPE bloom_filter GRANULARITY 1'])
    expect(toClusterStatements('ALTER TABLE message_bodies MODIFY TTL toDateTime(created_at) + INTERVAL 7 DAY', opts)).toEqual([
      'ALTER TABLE message_bodies_local ON CLUSTER nudge MODIFY TTL toDateTime(created_at) + INTERVAL 7 DAY',
    ])
    expect(
      toClusterStatements('ALTER TABLE traits DELETE WHERE user_key IN {keys:Array(String)} SETTINGS mutations_sync = 2', opts),
    ).toEqual(['ALTER TABLE traits_local ON CLUSTER nudge DELETE WHERE user_key IN {keys:Array(String)} SETTINGS mutations_sync = 2'])
    expect(toClusterStatements('ALTER TABLE products ADD COLUMN IF NOT EXISTS brand String', opts)).toEqual([
      'ALTER TABLE products ON CLUSTER nudge ADD COLUMN IF NOT EXISTS brand String',
    ])
  })

  it("an erasure's delete of every table holding people's data becomes one mutation of its local tables, ON CLUSTER", () => {
    for (const [table, where] of Object.entries(ERASED_TABLES)) {
      const local = TABLE_PLACEMENT[table]!.kind === 'everywhere' ? table : `${table}_local`
      expect(toClusterStatements(`ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, opts)).toEqual([
        `ALTER TABLE ${local} ON CLUSTER nudge DELETE WHERE ${where} SETTINGS mutations_sync = 2`,
      ])
    }
  })

  it('an ALTER mixing both sends every command to the local table and only the column commands to the Distributed one', () => {
    expect(
      toClusterStatements(
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS tz LowCardinality(String) DEFAULT 'UTC', MODIFY SETTING index_granularity_bytes = 0",
        opts,
      ),
    ).toEqual([
      "ALTER TABLE events_local ON CLUSTER nudge ADD COLUMN IF NOT EXISTS tz LowCardinality(String) DEFAULT 'UTC', MODIFY SETTING index_granularity_bytes = 0",
      "ALTER TABLE events ON CLUSTER nudge ADD COLUMN IF NOT EXISTS tz LowCardinality(String) DEFAULT 'UTC'",
    ])
    expect(() => toClusterStatements('ALTER TABLE events FREEZE', opts)).toThrow(/ALTER command not handled/)
  })

  it('DROP: the Distributed table first, then the local one, each ON CLUSTER … SYNC; a view once', () => {
    expect(toClusterStatements('DROP TABLE IF EXISTS false_triggers', opts)).toEqual([
      'DROP TABLE IF EXISTS false_triggers ON CLUSTER nudge SYNC',
      'DROP TABLE IF EXISTS false_triggers_local ON CLUSTER nudge SYNC',
    ])
    expect(toClusterStatements('DROP TABLE IF EXISTS templates', opts)).toEqual(['DROP TABLE IF EXISTS templates ON CLUSTER nudge SYNC'])
    expect(toClusterStatements('DROP VIEW IF EXISTS events_to_message_ids', opts)).toEqual([
      'DROP VIEW IF EXISTS events_to_message_ids ON CLUSTER nudge SYNC',
    ])
  })

  it('anything else, or a table without a placement, fails loudly naming the problem', () => {
    expect(() => toClusterStatements('INSERT INTO events SELECT * FROM events', opts)).toThrow(/statement shape not handled/)
    expect(() => toClusterStatements('RENAME TABLE events TO events2', opts)).toThrow(ClusterDdlError)
    expect(() => toClusterStatements('CREATE TABLE IF NOT EXISTS new_table (a String) ENGINE = MergeTree ORDER BY a', opts)).toThrow(
      /table "new_table" has no placement in clickhouse\/clusterTables.ts/,
    )
  })
})

describe('without CLICKHOUSE_CLUSTER nothing changes', () => {
  it('every migration statement, and the ledger, run exactly as written (the same strings)', () => {
    for (const m of loadMigrations()) expect(migrationStatements(m.statements)).toBe(m.statements)
    expect(migrationStatements([MIGRATIONS_LEDGER_DDL])).toEqual([MIGRATIONS_LEDGER_DDL])
    expect(loadConfig({}).CLICKHOUSE_CLUSTER).toBeUndefined()
  })

  it('the embedded engine refuses CLICKHOUSE_CLUSTER at start, naming the variable; with CLICKHOUSE_URL it is taken', () => {
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'nudge' })).toThrow(ConfigError)
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'nudge' })).toThrow(
      /CLICKHOUSE_CLUSTER: needs CLICKHOUSE_URL \(the embedded engine, chdb,/,
    )
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: 'my cluster', CLICKHOUSE_URL: 'http://ch:8123' })).toThrow(
      /CLICKHOUSE_CLUSTER: must be an identifier/,
    )
    expect(loadConfig({ CLICKHOUSE_CLUSTER: 'nudge', CLICKHOUSE_URL: 'http://ch:8123' }).CLICKHOUSE_CLUSTER).toBe('nudge')
  })
})

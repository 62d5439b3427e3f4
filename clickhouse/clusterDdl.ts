import { TABLE_PLACEMENT, type Placement } from './clusterTables.js'
import { ClusterDdlError, type DdlShape, parseDdl } from './ddlShape.js'

/**
 * One migration statement → the statements that do the same on a ClickHouse cluster
 * (CLICKHOUSE_CLUSTER). Pure: no connection, so the generated DDL is snapshot-tested and can be
 * printed and reviewed before anyone runs it (`npm run migrate -- --print`).
 *
 * A sharded table `t` becomes `t_local` (Replicated*MergeTree, one replication group per shard)
 * plus `t` itself as a Distributed table over it, so every query of the application keeps its
 * table names. An `everywhere` table stays `t`, one replication group spanning every node.
 * Everything is `ON CLUSTER`: one run from one node creates it on all of them.
 */
export interface ClusterOptions {
  /** A cluster named in the servers' `remote_servers`. */
  cluster: string
  /** The database the application's client uses (`default` when CLICKHOUSE_DATABASE is unset). */
  database: string
  placements?: Readonly<Record<string, Placement>>
}

export const LOCAL_SUFFIX = '_local'
/**
 * Keeper paths. `{shard}` and `{replica}` are each server's macros; `{database}` and `{table}` are
 * filled in by the server. An `everywhere` table has one path for the whole cluster, so its replica
 * names must be unique across shards: many setups reuse replica names (`r1`, `r2`) in every shard,
 * hence `{shard}-{replica}`.
 */
export const SHARD_PATH = '/clickhouse/tables/{shard}/{database}/{table}'
export const EVERYWHERE_PATH = '/clickhouse/tables/all/{database}/{table}'
export const SHARD_REPLICA = '{replica}'
export const EVERYWHERE_REPLICA = '{shard}-{replica}'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const MERGE_TREE = /^(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Coalescing)?MergeTree$/

export function toClusterStatements(statement: string, opts: ClusterOptions): string[] {
  for (const [name, value] of [
    ['cluster', opts.cluster],
    ['database', opts.database],
  ] as const)
    if (!IDENTIFIER.test(value)) throw new ClusterDdlError(`${name} "${value}" must be an identifier`, statement)
  const shape = parseDdl(statement)
  const ctx = { ...opts, placements: opts.placements ?? TABLE_PLACEMENT, statement }
  switch (shape.kind) {
    case 'createTable':
      return createTable(shape, ctx)
    case 'createView':
      return createView(shape, ctx)
    case 'alterTable':
      return alterTable(shape, ctx)
    case 'drop':
      return drop(shape, ctx)
  }
}

type Ctx = Required<ClusterOptions> & { statement: string }
type Shape<K extends DdlShape['kind']> = Extract<DdlShape, { kind: K }>

export function placementOf(table: string, ctx: Pick<Ctx, 'placements' | 'statement'>): Placement {
  const p = ctx.placements[table]
  if (!p) throw new ClusterDdlError(`table "${table}" has no placement in clickhouse/clusterTables.ts`, ctx.statement)
  return p
}

/** The table a statement must name on each node: the local one of a sharded table, the table itself otherwise. */
function localName(table: string, p: Placement): string {
  return p.kind === 'everywhere' ? table : table + LOCAL_SUFFIX
}

function createTable(shape: Shape<'createTable'>, ctx: Ctx): string[] {
  const p = placementOf(shape.table, ctx)
  if (!MERGE_TREE.test(shape.engine)) throw new ClusterDdlError(`engine ${shape.engine} has no replicated form`, ctx.statement)
  const ifNot = shape.ifNotExists ? 'IF NOT EXISTS ' : ''
  const on = `ON CLUSTER ${ctx.cluster}`
  const [path, replica] = p.kind === 'everywhere' ? [EVERYWHERE_PATH, EVERYWHERE_REPLICA] : [SHARD_PATH, SHARD_REPLICA]
  const args = [quote(path), quote(replica), ...(shape.engineArgs ? [shape.engineArgs] : [])].join(', ')
  const local = localName(shape.table, p)
  const tail = shape.tail ? `\n${shape.tail}` : ''
  const replicated = `CREATE TABLE ${ifNot}${local} ${on} (${shape.body})\nENGINE = Replicated${shape.engine}(${args})${tail}`
  if (p.kind === 'everywhere') return [replicated]
  // A view-fed table gets no sharding key: only its view writes it, shard-locally.
  const key = p.kind === 'sharded' ? `, cityHash64(${p.by})` : ''
  const distributed = `CREATE TABLE ${ifNot}${shape.table} ${on} AS ${local}\nENGINE = Distributed(${quote(ctx.cluster)}, ${quote(ctx.database)}, ${quote(local)}${key})`
  return [replicated, distributed]
}

/**
 * Views are local-to-local: the view on each node reads the local source table and writes the
 * local target. An insert through a Distributed table lands on one shard's local table, and the
 * view fires there on exactly those rows, so the target rows are written on the same node in the
 * same insert — no second network hop, and no background Distributed queue between the two
 * tables that a crash could lose or replay. That is only right when the target is co-located with
 * the source (same shard for the same user), which `coLocated` checks here rather than trusting.
 */
function createView(shape: Shape<'createView'>, ctx: Ctx): string[] {
  const source = placementOf(shape.source, ctx)
  const target = placementOf(shape.target, ctx)
  const why = coLocated(shape, source, target)
  if (why) throw new ClusterDdlError(`view ${shape.view} would write rows to another shard: ${why}`, ctx.statement)
  const ifNot = shape.ifNotExists ? 'IF NOT EXISTS ' : ''
  const tail = shape.tail ? ` ${shape.tail}` : ''
  return [
    `CREATE MATERIALIZED VIEW ${ifNot}${shape.view} ON CLUSTER ${ctx.cluster} TO ${localName(shape.target, target)} AS\n` +
      `SELECT ${shape.columns.join(', ')} FROM ${localName(shape.source, source)}${tail}`,
  ]
}

/** Why the view's target rows would not sit on its source rows' shard, or '' when they do. */
export function coLocated(shape: Shape<'createView'>, source: Placement, target: Placement): string {
  if (source.kind === 'everywhere') return target.kind === 'everywhere' ? '' : 'its source is on every node but its target is not'
  if (target.kind === 'everywhere') return 'its target is on every node, its source is not'
  if (target.kind === 'view') return target.of === shape.source ? '' : `its target is fed by ${target.of}, not ${shape.source}`
  if (source.kind !== 'sharded') return `its source ${shape.source} is itself view-fed`
  // The target's shard key must be the source's shard key, selected unchanged.
  const output = shape.columns.find((c) => outputName(c) === target.by)
  if (!output) return `it does not select the target's shard key ${target.by}`
  return expressionOf(output) === source.by ? '' : `${target.by} is not the source's shard key ${source.by}`
}

const AS = /^([\s\S]+?)\s+AS\s+(\w+)$/i
const outputName = (column: string) => AS.exec(column)?.[2] ?? column
const expressionOf = (column: string) => AS.exec(column)?.[1]!.trim() ?? column

/**
 * Column changes go to the local table and then to the Distributed one (a Distributed table has
 * columns but no storage, so it must learn each new column to read it). Everything else an ALTER
 * does — indexes, TTL, settings, projections, mutations — is storage: the local table only.
 * An `everywhere` table is one replication group across shards, so its ALTER may run once per
 * shard on the same replicas; migrations are `IF [NOT] EXISTS` (a test holds that), so the
 * repeats change nothing.
 */
const COLUMN_COMMAND = /^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i
const STORAGE_COMMAND =
  /^((ADD|DROP|MATERIALIZE|CLEAR)\s+(INDEX|PROJECTION|STATISTICS)|(ADD|DROP)\s+CONSTRAINT|(MODIFY|REMOVE|MATERIALIZE)\s+TTL|(MODIFY|RESET)\s+SETTING|MODIFY\s+ORDER\s+BY|(MATERIALIZE|CLEAR)\s+COLUMN|DELETE\s+WHERE|UPDATE)\b/i

function alterTable(shape: Shape<'alterTable'>, ctx: Ctx): string[] {
  const p = placementOf(shape.table, ctx)
  for (const c of shape.commands)
    if (!COLUMN_COMMAND.test(c) && !STORAGE_COMMAND.test(c))
      throw new ClusterDdlError('ALTER command not handled by the cluster transform', c)
  const on = `ON CLUSTER ${ctx.cluster}`
  const local = `ALTER TABLE ${localName(shape.table, p)} ${on} ${shape.commands.join(', ')}`
  const columnCommands = shape.commands.filter((c) => COLUMN_COMMAND.test(c))
  if (p.kind === 'everywhere' || columnCommands.length === 0) return [local]
  return [local, `ALTER TABLE ${shape.table} ${on} ${columnCommands.join(', ')}`]
}

/**
 * The Distributed table goes first, so nothing writes into a local table that is going away.
 * SYNC: a replicated table dropped lazily keeps its Keeper path for minutes, and a migration that
 * creates it again in the meantime would fail with "replica already exists".
 */
function drop(shape: Shape<'drop'>, ctx: Ctx): string[] {
  const ifExists = shape.ifExists ? 'IF EXISTS ' : ''
  const on = `ON CLUSTER ${ctx.cluster}`
  if (shape.what === 'VIEW') return [`DROP VIEW ${ifExists}${shape.name} ${on} SYNC`]
  const p = placementOf(shape.name, ctx)
  const local = `DROP TABLE ${ifExists}${localName(shape.name, p)} ${on} SYNC`
  return p.kind === 'everywhere' ? [local] : [`DROP TABLE ${ifExists}${shape.name} ${on} SYNC`, local]
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

import type { ClickHouseClient } from '@clickhouse/client'
import type { DefinitionKind } from '../../clickhouse/definitions/definitionStore.js'
import { selectRows } from '../../clickhouse/store.js'
import { parseUtc } from '../../ingest/identity/consentState.js'
import { type CompiledFlag, compileFlag } from './evaluateFlag.js'
import type { AuditEntry, FlagDefinition } from './flagSchema.js'

/** Flags in ClickHouse: versioned definitions (`flags`) and the audit log (`flag_audit`). */
export interface StoredFlag {
  definition: FlagDefinition
  version: number
  updatedAt: number
}

/** A flag as held in memory: compiled once, evaluated without I/O. */
export type CachedFlag = StoredFlag & { compiled: CompiledFlag }

export const flagKind: DefinitionKind<StoredFlag, CachedFlag> = {
  table: 'flags',
  key: 'key',
  deletable: true,
  columns: ['definition'],
  keyOf: (f) => f.definition.key,
  versionOf: (f) => f.version,
  timeOf: (f) => f.updatedAt,
  encode: (f) => ({ definition: JSON.stringify(f.definition) }),
  decode: (r) => ({ definition: JSON.parse(String(r.columns.definition)) as FlagDefinition, version: r.version, updatedAt: r.at }),
  prepare: (f) => ({ ...f, compiled: compileFlag(f.definition) }),
}

export async function writeAudit(
  client: ClickHouseClient,
  key: string,
  at: number,
  actor: string,
  action: AuditEntry['action'],
  before: FlagDefinition | null,
  after: FlagDefinition | null,
): Promise<void> {
  await client.insert({
    table: 'flag_audit',
    format: 'JSONEachRow',
    values: [{ flag_key: key, at, actor, action, before: before ? JSON.stringify(before) : '', after: after ? JSON.stringify(after) : '' }],
  })
}

export async function readAudit(client: ClickHouseClient, key: string): Promise<AuditEntry[]> {
  const rows = await selectRows<{ at: string; actor: string; action: AuditEntry['action']; before: string; after: string }>(
    client,
    'SELECT at, actor, action, before, after FROM flag_audit WHERE flag_key = {key:String} ORDER BY at',
    { key },
  )
  return rows.map((r) => ({
    at: new Date(parseUtc(r.at)).toISOString(),
    actor: r.actor,
    action: r.action,
    before: r.before ? (JSON.parse(r.before) as FlagDefinition) : null,
    after: r.after ? (JSON.parse(r.after) as FlagDefinition) : null,
  }))
}

import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../../ingest/identity/consentState.js'
import { selectRows } from '../../clickhouse/store.js'
import { ConflictError, NotFoundError } from '../../core/errors.js'
import {
  type CompiledFlag,
  type Details,
  type EvaluationContext,
  type FlagDeps,
  type Requested,
  compileFlag,
  evaluateFlag,
} from './evaluateFlag.js'
import { type FlagDefinition, type FlagInput, normalizeFlag } from './flagSchema.js'

/**
 * Flags: definitions in ClickHouse (versioned), every change in an audit log (who, when, before,
 * after), evaluation in memory. Changes made here apply to the next evaluation; changes made by
 * another process (a worker, in scaled mode) are picked up within `pollMs`.
 */
export interface FlagServiceOptions {
  client: ClickHouseClient
  deps: FlagDeps
  pollMs?: number
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

export interface StoredFlag {
  definition: FlagDefinition
  version: number
  updatedAt: number
}

export interface AuditEntry {
  at: string
  actor: string
  action: 'create' | 'update' | 'delete'
  before: FlagDefinition | null
  after: FlagDefinition | null
}

export class FlagService {
  private flags = new Map<string, StoredFlag & { compiled: CompiledFlag }>()
  private stamp = ''
  private poller: NodeJS.Timeout | undefined
  private readonly now: () => number
  private readonly listeners: ((keys: string[]) => void)[] = []

  constructor(private readonly opts: FlagServiceOptions) {
    this.now = opts.now ?? Date.now
  }

  async load(): Promise<void> {
    this.stamp = await this.currentStamp()
    const rows = await selectRows<{ def: string; v: number; at: string; gone: number }>(
      this.opts.client,
      'SELECT argMax(definition, version) AS def, max(version) AS v, argMax(updated_at, version) AS at, argMax(deleted, version) AS gone FROM flags GROUP BY key',
    )
    const next = new Map<string, StoredFlag & { compiled: CompiledFlag }>()
    for (const r of rows) {
      if (Number(r.gone)) continue
      const definition = JSON.parse(r.def) as FlagDefinition
      next.set(definition.key, { definition, version: Number(r.v), updatedAt: parseUtc(r.at), compiled: compileFlag(definition) })
    }
    const changed = [...new Set([...next.keys(), ...this.flags.keys()])].filter((k) => next.get(k)?.version !== this.flags.get(k)?.version)
    this.flags = next
    if (changed.length) this.changed(changed)
  }

  start(): void {
    this.poller = setInterval(
      () => void this.refresh().catch((err) => this.opts.log?.('flag refresh failed', { err: String(err) })),
      this.opts.pollMs ?? 500,
    )
    this.poller.unref()
  }

  stop(): void {
    clearInterval(this.poller)
  }

  /** Listeners hear which flags changed (the OpenFeature provider emits ConfigurationChanged). */
  onChange(listener: (keys: string[]) => void): void {
    this.listeners.push(listener)
  }

  async refresh(): Promise<void> {
    if ((await this.currentStamp()) !== this.stamp) await this.load()
  }

  has(key: string): boolean {
    return this.flags.has(key)
  }

  list(): StoredFlag[] {
    return [...this.flags.values()].map(({ compiled: _c, ...f }) => f).sort((a, b) => a.definition.key.localeCompare(b.definition.key))
  }

  get(key: string): StoredFlag {
    const f = this.flags.get(key)
    if (!f) throw new NotFoundError(`No flag "${key}"`)
    const { compiled: _c, ...out } = f
    return out
  }

  async save(input: FlagInput, actor: string, mustExist?: boolean): Promise<StoredFlag> {
    const before = this.flags.get(input.key)
    if (mustExist && !before) throw new NotFoundError(`No flag "${input.key}"`)
    if (mustExist === false && before)
      throw new ConflictError(`Flag "${input.key}" already exists; PUT /api/flags/${input.key} to change it`)
    const definition = normalizeFlag(input)
    const version = (await this.lastVersion(input.key)) + 1
    const at = this.now()
    await this.write(definition, version, at, false)
    await this.audit(input.key, at, actor, before ? 'update' : 'create', before?.definition ?? null, definition)
    this.flags.set(definition.key, { definition, version, updatedAt: at, compiled: compileFlag(definition) })
    this.stamp = await this.currentStamp()
    this.changed([definition.key])
    return this.get(definition.key)
  }

  async remove(key: string, actor: string): Promise<void> {
    const cur = this.flags.get(key)
    if (!cur) throw new NotFoundError(`No flag "${key}"`)
    const at = this.now()
    await this.write(cur.definition, cur.version + 1, at, true)
    await this.audit(key, at, actor, 'delete', cur.definition, null)
    this.flags.delete(key)
    this.stamp = await this.currentStamp()
    this.changed([key])
  }

  async history(key: string): Promise<AuditEntry[]> {
    const rows = await selectRows<{ at: string; actor: string; action: AuditEntry['action']; before: string; after: string }>(
      this.opts.client,
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

  /** In-process, no I/O: the hot path of every journey that asks for a timing. */
  evaluate<T>(key: string, requested: Requested, defaultValue: T, context: EvaluationContext): Details<T> {
    try {
      return evaluateFlag(this.flags.get(key)?.compiled, key, requested, defaultValue, context, this.opts.deps)
    } catch (err) {
      // A flag must never take its caller down.
      return {
        value: defaultValue,
        reason: 'ERROR',
        errorCode: 'PARSE_ERROR',
        errorMessage: err instanceof Error ? err.message : String(err),
      }
    }
  }

  private changed(keys: string[]): void {
    for (const l of this.listeners) {
      try {
        l(keys)
      } catch (err) {
        this.opts.log?.('flag listener failed', { err: String(err) })
      }
    }
  }

  private async lastVersion(key: string): Promise<number> {
    const [row] = await selectRows<{ v: number }>(this.opts.client, 'SELECT max(version) AS v FROM flags WHERE key = {key:String}', { key })
    return Number(row?.v ?? 0)
  }

  private async currentStamp(): Promise<string> {
    const [row] = await selectRows<{ s: string }>(this.opts.client, 'SELECT toString(max(updated_at)) AS s FROM flags')
    return row?.s ?? ''
  }

  private async write(definition: FlagDefinition, version: number, at: number, deleted: boolean): Promise<void> {
    await this.opts.client.insert({
      table: 'flags',
      format: 'JSONEachRow',
      values: [{ key: definition.key, definition: JSON.stringify(definition), version, updated_at: at, deleted: deleted ? 1 : 0 }],
    })
  }

  private async audit(
    key: string,
    at: number,
    actor: string,
    action: AuditEntry['action'],
    before: FlagDefinition | null,
    after: FlagDefinition | null,
  ): Promise<void> {
    await this.opts.client.insert({
      table: 'flag_audit',
      format: 'JSONEachRow',
      values: [
        { flag_key: key, at, actor, action, before: before ? JSON.stringify(before) : '', after: after ? JSON.stringify(after) : '' },
      ],
    })
  }
}

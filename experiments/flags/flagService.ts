import type { ClickHouseClient } from '@clickhouse/client'
import { DefinitionStore } from '../../clickhouse/definitions/definitionStore.js'
import { ConflictError, NotFoundError } from '../../core/errors.js'
import { type Details, type EvaluationContext, type FlagDeps, type Requested, evaluateFlag } from './evaluateFlag.js'
import { type AuditEntry, type FlagInput, normalizeFlag } from './flagSchema.js'
import { type CachedFlag, type StoredFlag, flagKind, readAudit, writeAudit } from './flagStore.js'

export type { StoredFlag } from './flagStore.js'

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

export class FlagService {
  private readonly flags: DefinitionStore<StoredFlag, CachedFlag>
  private readonly now: () => number

  constructor(private readonly opts: FlagServiceOptions) {
    this.now = opts.now ?? Date.now
    this.flags = new DefinitionStore(opts.client, flagKind, { log: opts.log })
  }

  load(): Promise<void> {
    return this.flags.load()
  }

  start(): void {
    this.flags.start(this.opts.pollMs ?? 500)
  }

  stop(): void {
    this.flags.stop()
  }

  /** Listeners hear which flags changed (the OpenFeature provider emits ConfigurationChanged). */
  onChange(listener: (keys: string[]) => void): void {
    this.flags.onChange(listener)
  }

  refresh(): Promise<void> {
    return this.flags.refresh()
  }

  has(key: string): boolean {
    return this.flags.has(key)
  }

  list(): StoredFlag[] {
    return this.flags.list().map(stored)
  }

  get(key: string): StoredFlag {
    const f = this.flags.get(key)
    if (!f) throw new NotFoundError(`No flag "${key}"`)
    return stored(f)
  }

  async save(input: FlagInput, actor: string, mustExist?: boolean): Promise<StoredFlag> {
    const before = this.flags.get(input.key)
    if (mustExist && !before) throw new NotFoundError(`No flag "${input.key}"`)
    if (mustExist === false && before)
      throw new ConflictError(`Flag "${input.key}" already exists; PUT /api/flags/${input.key} to change it`)
    const definition = normalizeFlag(input)
    const at = this.now()
    await this.flags.save({ definition, version: await this.flags.nextVersion(input.key), updatedAt: at })
    await writeAudit(this.opts.client, input.key, at, actor, before ? 'update' : 'create', before?.definition ?? null, definition)
    return this.get(definition.key)
  }

  async remove(key: string, actor: string): Promise<void> {
    const cur = this.flags.get(key)
    if (!cur) throw new NotFoundError(`No flag "${key}"`)
    const at = this.now()
    await this.flags.remove({ definition: cur.definition, version: cur.version + 1, updatedAt: at })
    await writeAudit(this.opts.client, key, at, actor, 'delete', cur.definition, null)
  }

  history(key: string): Promise<AuditEntry[]> {
    return readAudit(this.opts.client, key)
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
}

function stored({ compiled: _c, ...f }: CachedFlag): StoredFlag {
  return f
}

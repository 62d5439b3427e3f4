import type { ClickHouseClient } from '@clickhouse/client'
import { OneAtATime } from '../../core/oneAtATime.js'
import { type DefinitionRow, DefinitionTable, type DefinitionTableSpec } from './definitionTable.js'

/**
 * One kind of definition: its table, and how an item becomes a row and back. `prepare` derives
 * what the cache holds (a compiled flag, a segment's triggers, a compiled template); it runs before
 * anything is stored, so a definition that does not prepare is never saved.
 */
export interface DefinitionKind<T, C extends T = T> extends DefinitionTableSpec {
  keyOf(item: T): string
  versionOf(item: T): number
  /** When the item's version was written (ms). */
  timeOf(item: T): number
  /** The row's other columns (the definition as JSON, a status, …). */
  encode(item: T): Record<string, unknown>
  decode(row: DefinitionRow): T
  prepare?(item: T): C
}

export interface DefinitionStoreOptions {
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

type Listener = (keys: string[]) => void

/**
 * Versioned definitions, cached in memory and kept current with other processes: reads never wait
 * on the store (assignment, flag evaluation, trigger routing and sends read it on their hot path);
 * a save is a new version, current here at once; `start(pollMs)` follows what other processes save
 * (a cheap change stamp per poll, a reload only when it moved). Listeners hear which keys changed,
 * whoever changed them. Loads and saves run one at a time, so a poll never undoes a save.
 */
export class DefinitionStore<T, C extends T = T> {
  private readonly table: DefinitionTable
  private readonly current = new Map<string, C>()
  private readonly listeners: Listener[] = []
  private stamp = ''
  private poller: NodeJS.Timeout | undefined
  private readonly serial = new OneAtATime()

  constructor(
    client: ClickHouseClient,
    private readonly kind: DefinitionKind<T, C>,
    private readonly opts: DefinitionStoreOptions = {},
  ) {
    this.table = new DefinitionTable(client, kind)
  }

  /** The current items by key (a live view: it follows loads and saves). */
  get entries(): ReadonlyMap<string, C> {
    return this.current
  }

  has(key: string): boolean {
    return this.current.has(key)
  }

  get(key: string): C | undefined {
    return this.current.get(key)
  }

  /** Current items, by key. */
  list(): C[] {
    return [...this.current.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, c]) => c)
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener)
  }

  /**
   * Reads the current version of every key. An item whose version did not move is kept as it is
   * (nothing is decoded or prepared again); one that no longer decodes keeps its previous version.
   */
  load(): Promise<void> {
    return this.exclusive(async () => {
      this.stamp = await this.table.stamp()
      const rows = await this.table.current()
      const changed: string[] = []
      const seen = new Set<string>()
      for (const row of rows) {
        if (row.deleted) continue
        seen.add(row.key)
        const cached = this.current.get(row.key)
        if (cached && this.kind.versionOf(cached) === row.version) continue
        try {
          this.current.set(row.key, this.prepare(this.kind.decode(row)))
          changed.push(row.key)
        } catch (err) {
          this.opts.log?.(`stored ${this.kind.table} version does not load; keeping the previous one`, {
            key: row.key,
            version: row.version,
            err: String(err),
          })
        }
      }
      for (const key of [...this.current.keys()])
        if (!seen.has(key)) {
          this.current.delete(key)
          changed.push(key)
        }
      this.changed(changed)
    })
  }

  /** Reloads if any process wrote since the last load. */
  async refresh(): Promise<void> {
    if ((await this.table.stamp()) !== this.stamp) await this.load()
  }

  /** Follows other processes' saves within `pollMs`. */
  start(pollMs: number): void {
    if (this.poller) return
    this.poller = setInterval(
      () => void this.refresh().catch((err) => this.opts.log?.(`${this.kind.table} refresh failed`, { err: String(err) })),
      pollMs,
    )
    this.poller.unref()
  }

  stop(): void {
    clearInterval(this.poller)
    this.poller = undefined
  }

  /** A version above every version ever stored for the key (deletions included) and the one held here. */
  async nextVersion(key: string): Promise<number> {
    const held = this.current.get(key)
    return Math.max(held ? this.kind.versionOf(held) : 0, await this.table.lastVersion(key)) + 1
  }

  /** Prepares (which may throw: nothing is stored), stores the new version, and makes it current here. */
  async save(item: T): Promise<C> {
    const entry = this.prepare(item)
    return this.exclusive(async () => {
      const key = await this.store(item, { deleted: false })
      this.current.set(key, entry)
      this.changed([key])
      return entry
    })
  }

  /** Stores `item` (the key's next version) as a deletion and drops the key here. */
  remove(item: T): Promise<void> {
    return this.exclusive(async () => {
      const key = await this.store(item, { deleted: true })
      this.current.delete(key)
      this.changed([key])
    })
  }

  /** Every stored version of a key, oldest first (deletions included), or just `version`. */
  async versions(key: string, version?: number): Promise<T[]> {
    return (await this.table.versions(key, version)).map((row) => this.kind.decode(row))
  }

  /** Writes `item` as its key's row (a save or a deletion) and returns the key. */
  private async store(item: T, o: { deleted: boolean }): Promise<string> {
    const key = this.kind.keyOf(item)
    await this.table.write({
      key,
      version: this.kind.versionOf(item),
      at: this.kind.timeOf(item),
      deleted: o.deleted,
      columns: this.kind.encode(item),
    })
    return key
  }

  private prepare(item: T): C {
    return this.kind.prepare ? this.kind.prepare(item) : (item as C)
  }

  private changed(keys: string[]): void {
    if (!keys.length) return
    for (const l of this.listeners) {
      try {
        l(keys)
      } catch (err) {
        this.opts.log?.(`${this.kind.table} change listener failed`, { err: String(err) })
      }
    }
  }

  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    return this.serial.run(work)
  }
}

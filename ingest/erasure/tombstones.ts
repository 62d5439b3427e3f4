import { createHmac } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../identity/consentState.js'
import { selectRows } from '../../clickhouse/store.js'

/** `user`: a user id or a linked anonymous id; `message`: the id of a mail sent to them. */
export type ErasedKind = 'user' | 'message'

/** What a dropped late signal was (the `kind` label of `nudge_erased_signals_dropped_total`). */
export type DroppedSignal =
  | 'open'
  | 'click'
  | 'unsubscribe'
  | 'preferences'
  | 'view'
  | 'bounce'
  | 'complaint'
  | 'delivered'
  | 'outcome'
  | 'event'
  | 'consent'
  | 'send'

/** The keyed hash a tombstone (and the erasure log) keeps instead of an id. */
export function erasedIdHash(key: Buffer, kind: ErasedKind, id: string): string {
  return createHmac('sha256', key).update(kind).update('\u0000').update(id).digest('hex')
}

/**
 * What erasure leaves behind: keyed hashes of the erased ids with the time of the erasure, in
 * memory (checked on every tracking request and every ingested event) and in `erased_ids`.
 *
 * The rule the checks implement: anything that belongs to the erased person — mail sent to
 * them, or an event or consent change timestamped at or before the erasure (a retry, a queued
 * offline event) — is dropped and counted, never stored. An event of the same user id
 * timestamped after the erasure is a new person who chose the same id (as Braze and Customer.io
 * treat a re-sent id), and is stored as such.
 */
export class Tombstones {
  private readonly erased = new Map<string, number>()
  /**
   * User ids recently checked and found not erased, so the ingest path hashes an id once, not
   * per event. Holds only ids that are not erased, and is emptied whenever a tombstone is added.
   */
  private readonly clean = new Set<string>()
  private readonly dropListeners: ((kind: DroppedSignal, n: number) => void)[] = []
  private lastErasedAt = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly client: ClickHouseClient,
    private readonly key: Buffer,
  ) {}

  get size(): number {
    return this.erased.size
  }

  hash(kind: ErasedKind, id: string): string {
    return erasedIdHash(this.key, kind, id)
  }

  /** Loads (or, called again, catches up with) tombstones other processes wrote. */
  async load(): Promise<number> {
    // A minute of overlap: another process's row can be stamped before one already seen lands.
    const since = Math.max(0, this.lastErasedAt - 60_000)
    const rows = await selectRows<{ id_hash: string; kind: string; erased_at: string }>(
      this.client,
      `SELECT id_hash, kind, erased_at FROM erased_ids WHERE erased_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')`,
      { since },
    )
    for (const r of rows) this.remember(memoryKey(r.kind, r.id_hash), parseUtc(r.erased_at))
    return rows.length
  }

  /** Follows erasures made by other processes (a worker's send gate must hear of them). */
  follow(intervalMs: number, log?: (msg: string, extra?: Record<string, unknown>) => void): void {
    if (this.timer || intervalMs <= 0) return
    this.timer = setInterval(
      () => void this.load().catch((err) => log?.('erasure tombstones not refreshed', { err: String(err) })),
      intervalMs,
    )
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Stored before anything is deleted, so a signal arriving during the erasure is already refused. */
  async record(ids: { users: string[]; messages: string[] }, at: number): Promise<void> {
    const values = [
      ...ids.users.map((id) => ({ id_hash: this.hash('user', id), kind: 'user', erased_at: at })),
      ...ids.messages.map((id) => ({ id_hash: this.hash('message', id), kind: 'message', erased_at: at })),
    ]
    if (values.length) await this.client.insert({ table: 'erased_ids', format: 'JSONEachRow', values })
    for (const v of values) this.remember(memoryKey(v.kind, v.id_hash), at)
  }

  /** When this id was erased, or undefined. */
  erasedAt(kind: ErasedKind, id: string): number | undefined {
    if (this.erased.size === 0 || !id) return undefined
    if (kind === 'user' && this.clean.has(id)) return undefined
    const at = this.erased.get(memoryKey(kind, this.hash(kind, id)))
    if (at === undefined && kind === 'user') {
      if (this.clean.size >= 100_000) this.clean.clear()
      this.clean.add(id)
    }
    return at
  }

  /** Whether any of these raw ids is held in memory (the erasure test asks; see `clean`). */
  holdsRaw(ids: readonly string[]): boolean {
    return ids.some((id) => this.clean.has(id))
  }

  /** Whether something of these user/anonymous ids, timestamped `at`, belongs to an erased person. */
  isLate(userIds: readonly string[], at: number): boolean {
    if (this.erased.size === 0) return false
    for (const id of new Set(userIds)) {
      const erasedAt = this.erasedAt('user', id)
      if (erasedAt !== undefined && at <= erasedAt) return true
    }
    return false
  }

  /** A signal of erased mail: refused. Counted under `kind`. */
  isErasedMessage(messageId: string): boolean {
    return this.erasedAt('message', messageId) !== undefined
  }

  /** Counts a dropped signal (metrics listen). */
  dropped(kind: DroppedSignal, n = 1): void {
    if (n > 0) for (const l of this.dropListeners) l(kind, n)
  }

  onDrop(listener: (kind: DroppedSignal, n: number) => void): void {
    this.dropListeners.push(listener)
  }

  private remember(key: string, at: number): void {
    const known = this.erased.get(key)
    if (known === undefined || known < at) this.erased.set(key, at)
    this.clean.clear()
    this.lastErasedAt = Math.max(this.lastErasedAt, at)
  }
}

/**
 * In memory, 128 bits of the hash are plenty to tell millions of ids apart and halve what each
 * tombstone costs (an erasure leaves one per id and per message sent).
 */
function memoryKey(kind: string, hash: string): string {
  return `${kind === 'message' ? 'm' : 'u'}${hash.slice(0, 32)}`
}

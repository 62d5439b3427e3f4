import type { ClickHouseClient } from '@clickhouse/client'
import { NotReadyError, OverloadedError, StoreUnavailableError, ValidationError } from '../core/errors.js'
import { isDataRefusal } from '../clickhouse/storeRefusal.js'
import type { ContactCipher } from '../core/contactCipher.js'
import type { ConsentState } from './identity/consentState.js'
import { selectRows } from '../clickhouse/store.js'
import { RecentIds } from './recentIds.js'
import { buildRows } from './buildRows.js'
import { insertRows } from './insertRows.js'
import type { RowSet } from './rows.js'
import type { ConsentUpdate, IngestEvent } from './types.js'
import type { Tombstones } from './erasure/tombstones.js'

/**
 * The durable write path. Requests are queued and written in group commits: while one insert
 * runs, the next batch gathers, so throughput grows with load while each request waits for at
 * most about two inserts. A request's promise resolves only after every row it carried is in
 * the store; if the insert fails it rejects (→ 503) and nothing was acknowledged. The queue is
 * bounded (→ 429), so overload costs retries, never memory or data.
 */
export interface WriterOptions {
  client: ClickHouseClient
  consent: ConsentState
  cipher: ContactCipher
  lookupKey: Buffer
  maxBatchRows: number
  lingerMs: number
  maxQueuedRows: number
  dedupeWindow: number
  /**
   * Tombstones of erased people: an event or consent change of an erased id timestamped at or
   * before its erasure (a retry, a queued offline event) is dropped and counted, never stored.
   */
  erased?: Pick<Tombstones, 'isLate' | 'dropped' | 'size'>
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

export interface WriteRequest {
  events: IngestEvent[]
  consent?: Omit<ConsentUpdate, 'messageId'>[]
}

export interface FlushStats {
  received: number
  stored: number
  duplicates: number
  consentLimited: number
  durationMs: number
  /** Of `durationMs`, the time spent in the store's inserts (the rest is dedupe and building rows). */
  insertMs: number
}

/**
 * Called after a batch is stored: its (new, deduplicated) events, the consent changes it recorded,
 * and the rows exactly as inserted (`rows.events[i]` is `events[i]` as stored).
 */
export type StoredListener = (events: IngestEvent[], consent: ConsentUpdate[], rows: RowSet) => void

interface Pending {
  seq: number
  req: WriteRequest
  rows: number
  resolve: () => void
  reject: (err: Error) => void
}

export class EventWriter {
  private readonly queue: Pending[] = []
  private queuedRows = 0
  private flushing = false
  private flushStartedAt = 0
  private holds = 0
  private idleWaiters: (() => void)[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private nextSeq = 1
  /** Write batches stored so far (see migration 005); continues from the store after a restart. */
  private batchSeq = 0
  /** Every request with a lower sequence number has been stored or refused. */
  private doneBefore = 1
  private drainWaiters: { seq: number; resolve: () => void }[] = []
  private readonly recent: RecentIds
  private readonly knownLinks = new Set<string>()
  private readonly listeners: StoredListener[] = []
  private readonly flushListeners: ((s: FlushStats) => void)[] = []
  private readonly now: () => number

  constructor(private readonly opts: WriterOptions) {
    this.recent = new RecentIds(opts.dedupeWindow)
    this.now = opts.now ?? Date.now
  }

  /** The last batch stored (and announced to `onStored` listeners, which run right after). */
  get storedSeq(): number {
    return this.batchSeq
  }

  /** Remembers the newest stored message ids, so a retry after a restart is still recognised. */
  async warmUp(): Promise<number> {
    await this.resumeSeq()
    const rows = await selectRows<{ message_id: string }>(
      this.opts.client,
      'SELECT message_id FROM message_ids ORDER BY received_at DESC LIMIT {n:UInt64}',
      { n: this.opts.dedupeWindow },
    )
    for (let i = rows.length - 1; i >= 0; i--) this.recent.add(rows[i]!.message_id)
    return rows.length
  }

  /** Batch numbers go on from the highest stored (a restart must not reuse one). */
  async resumeSeq(): Promise<number> {
    const [row] = await selectRows<{ s: number | string }>(
      this.opts.client,
      'SELECT greatest((SELECT max(ingest_seq) FROM events), (SELECT max(ingest_seq) FROM traits), (SELECT max(ingest_seq) FROM consent), (SELECT max(ingest_seq) FROM identities)) AS s',
    )
    this.batchSeq = Math.max(this.batchSeq, Number(row?.s ?? 0))
    return this.batchSeq
  }

  onStored(listener: StoredListener): void {
    this.listeners.push(listener)
  }

  onFlush(listener: (s: FlushStats) => void): void {
    this.flushListeners.push(listener)
  }

  get queueDepth(): number {
    return this.queuedRows
  }

  /** Resolves once everything in `req` is stored. Throws at once if the queue is full. */
  write(req: WriteRequest): Promise<void> {
    if (this.closed) return Promise.reject(new NotReadyError('Nudge is shutting down; retry against another instance'))
    const rows = req.events.length + (req.consent?.length ?? 0)
    if (this.queuedRows + rows > this.opts.maxQueuedRows)
      return Promise.reject(new OverloadedError(`Ingest queue is full (${this.queuedRows} events waiting); retry shortly`))
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ seq: this.nextSeq++, req, rows, resolve, reject })
      this.queuedRows += rows
      this.schedule()
    })
  }

  /**
   * Waits until everything accepted before this call is stored (or refused) — not for what
   * arrives later, so it returns under sustained ingest too.
   */
  drain(): Promise<void> {
    const seq = this.nextSeq
    if (this.doneBefore >= seq) return Promise.resolve()
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
      void this.flush()
    }
    return new Promise((resolve) => this.drainWaiters.push({ seq, resolve }))
  }

  /** After an erasure: links of these ids must be written again if they reappear. */
  forgetLinks(keys: string[]): void {
    const ids = new Set(keys)
    for (const link of this.knownLinks) {
      const [user, anon] = link.split('\u0000')
      if (ids.has(user!) || ids.has(anon!)) this.knownLinks.delete(link)
    }
  }

  /** Whether a link of these ids is remembered (the erasure test asks). */
  knowsLinks(keys: string[]): boolean {
    const ids = new Set(keys)
    for (const link of this.knownLinks) {
      const [user, anon] = link.split('\u0000')
      if (ids.has(user!) || ids.has(anon!)) return true
    }
    return false
  }

  /** Stops accepting; what was accepted is still written. */
  async close(): Promise<void> {
    this.closed = true
    await this.drain()
  }

  private schedule(): void {
    if (this.flushing || this.timer) return
    // Batches start at least `lingerMs` apart: a writer that has not written for that long writes
    // at once (a quiet system adds no latency); under load requests gather into fewer inserts.
    const wait = this.flushStartedAt + this.opts.lingerMs - this.now()
    if (this.queuedRows >= this.opts.maxBatchRows || wait <= 0) setImmediate(() => void this.flush())
    else this.timer = setTimeout(() => void this.flush(), wait)
  }

  /**
   * Runs `fn` while no batch is being stored: accepted requests wait (they are still acknowledged
   * only once stored). Whoever reads the store and then follows it from `onStored` needs this, or
   * a batch could be both in what it read and in what it is told next.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.holds++
    try {
      while (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
      return await fn()
    } finally {
      this.holds--
      if (this.holds === 0 && this.queue.length) this.schedule()
    }
  }

  private async flush(): Promise<void> {
    this.timer = undefined
    if (this.flushing || this.holds > 0 || this.queue.length === 0) return
    this.flushing = true
    this.flushStartedAt = this.now()
    const batch: Pending[] = []
    let rows = 0
    while (this.queue.length && (batch.length === 0 || rows + this.queue[0]!.rows <= this.opts.maxBatchRows)) {
      const p = this.queue.shift()!
      rows += p.rows
      batch.push(p)
    }
    this.queuedRows -= rows
    try {
      await this.store(batch)
    } catch (err) {
      // One bad request must not fail the others it was batched with: retry each on its own.
      this.opts.log?.('ingest insert failed; retrying requests one by one', { err: String(err), requests: batch.length })
      if (batch.length === 1) this.refuse(batch[0]!, err)
      else
        for (const p of batch)
          await this.store([p]).catch((e) => {
            this.opts.log?.('ingest insert failed', { err: String(e) })
            this.refuse(p, e)
          })
    } finally {
      this.flushing = false
      for (const w of this.idleWaiters.splice(0)) w()
      this.doneBefore = Math.max(this.doneBefore, batch[batch.length - 1]!.seq + 1)
      this.drainWaiters = this.drainWaiters.filter((w) => (w.seq <= this.doneBefore ? (w.resolve(), false) : true))
      // Group commit: waiting requests go next — but no sooner than `lingerMs` after this batch
      // began, so a steady stream of small requests makes fewer, larger inserts (each insert has a
      // fixed cost on the engine, and every part it makes is merged later).
      if (this.queue.length && !this.timer) {
        const wait = this.flushStartedAt + this.opts.lingerMs - this.now()
        if (wait > 0 && this.queuedRows < this.opts.maxBatchRows) this.timer = setTimeout(() => void this.flush(), wait)
        else setImmediate(() => void this.flush())
      }
    }
  }

  private async store(batch: Pending[]): Promise<void> {
    const stored = await this.writeBatch(batch.map((p) => p.req))
    for (const p of batch) p.resolve()
    for (const l of this.listeners) {
      try {
        l(stored.events, stored.consent, stored.rows)
      } catch (err) {
        this.opts.log?.('stored-listener failed', { err: String(err) })
      }
    }
  }

  /** Called for one request's own failure (never for a group's): a data refusal is this request's fault. */
  private refuse(p: Pending, err: unknown): void {
    if (isDataRefusal(err)) {
      const message = `the store cannot hold this data (${short(err)}); nothing was stored and a retry will not help`
      p.reject(new ValidationError(`Refused by the store: ${message}`, [{ path: '(body)', rule: 'storable', message }]))
      return
    }
    p.reject(new StoreUnavailableError(`The event store did not accept the write (${short(err)}); nothing was stored, retry`))
  }

  private async writeBatch(reqs: WriteRequest[]): Promise<{ events: IngestEvent[]; consent: ConsentUpdate[]; rows: RowSet }> {
    const started = this.now()
    const { events, consent } = this.withoutErased(
      reqs.flatMap((r) => r.events),
      reqs.flatMap((r) => r.consent ?? []),
    )
    const fresh = await this.dedupe(events)
    const built = buildRows(
      fresh,
      consent,
      { consent: this.opts.consent, cipher: this.opts.cipher, lookupKey: this.opts.lookupKey, knownLinks: this.knownLinks },
      this.now(),
    )
    // Stamp the batch: readers that load "up to batch N" and follow on from there rely on it.
    const seq = this.batchSeq + 1
    built.rows.seq = seq
    for (const rows of [built.rows.events, built.rows.traits, built.rows.identities, built.rows.consent])
      for (const r of rows) r.ingest_seq = seq
    const insertStarted = this.now()
    await insertRows(this.opts.client, built.rows)
    const insertMs = this.now() - insertStarted
    this.batchSeq = seq

    // Only now is it true: remember ids, links and consent for the next batches.
    for (const e of fresh) this.recent.add(e.messageId)
    if (this.knownLinks.size > 500_000) this.knownLinks.clear()
    for (const l of built.newLinks) this.knownLinks.add(l)
    this.opts.consent.apply(built.consentChanges)
    const stats = {
      received: events.length,
      stored: fresh.length,
      duplicates: events.length - fresh.length,
      consentLimited: built.consentLimited,
      durationMs: this.now() - started,
      insertMs,
    }
    for (const l of this.flushListeners) l(stats)
    return { events: fresh, consent: built.consentChanges, rows: built.rows }
  }

  /** What belongs to an erased person (see `erased`): dropped here, counted, never stored. */
  private withoutErased(events: IngestEvent[], consent: Omit<ConsentUpdate, 'messageId'>[]) {
    const erased = this.opts.erased
    if (!erased || erased.size === 0) return { events, consent }
    const keptEvents = events.filter((e) => !erased.isLate([e.userKey, e.userId, e.anonymousId, e.previousId].filter(Boolean), e.timestamp))
    const keptConsent = consent.filter((c) => !erased.isLate([c.userKey], c.changedAt))
    erased.dropped('event', events.length - keptEvents.length)
    erased.dropped('consent', consent.length - keptConsent.length)
    return { events: keptEvents, consent: keptConsent }
  }

  /** Drops repeats within the batch and, after confirming with the store, repeats of stored events. */
  private async dedupe(events: IngestEvent[]): Promise<IngestEvent[]> {
    const inBatch = new Set<string>()
    const unique: IngestEvent[] = []
    const suspects: string[] = []
    for (const e of events) {
      if (inBatch.has(e.messageId)) continue
      inBatch.add(e.messageId)
      unique.push(e)
      if (this.recent.has(e.messageId)) suspects.push(e.messageId)
    }
    if (suspects.length === 0) return unique
    const stored = new Set(
      (
        await selectRows<{ message_id: string }>(
          this.opts.client,
          'SELECT DISTINCT message_id FROM message_ids WHERE message_id IN {ids:Array(String)}',
          { ids: suspects },
        )
      ).map((r) => r.message_id),
    )
    return stored.size ? unique.filter((e) => !stored.has(e.messageId)) : unique
  }
}

function short(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import { NudgeError, ValidationError } from '../../core/errors.js'
import type { WriteRequest } from '../eventWriter.js'
import type { IngestEvent } from '../types.js'
import type { DeadLetter, DeadLetters } from './deadLetters.js'
import { type DecodeOptions, decodeMessage } from './decodeMessage.js'

export interface ConsumerOptions extends DecodeOptions {
  kafka: Kafka
  topic: string
  groupId: string
  /** Partitions handled at once: their batches meet in the writer's group commit. */
  concurrency: number
  /** The store's write path (the EventWriter): resolves once stored and announced to its listeners. */
  write(req: WriteRequest): Promise<void>
  /** The last batch the writer stored (its onStored listeners have run for it). */
  storedSeq(): number
  /** Whether routing (journey starts and signals) has finished for every batch up to `seq`; absent: nothing routes here. */
  routed?(seq: number): boolean
  /** Of these events' ids, those already stored (by this process or any other); `thorough` after an assignment or a failed write (see storedIds.ts). */
  storedIds(events: IngestEvent[], thorough: boolean): Promise<Set<string>>
  deadLetters: DeadLetters
  onDeadLetter?(reason: string): void
  onStored?(events: IngestEvent[], duplicates: number): void
  log(msg: string, extra?: Record<string, unknown>): void
}

interface Decodable {
  event: IngestEvent
  message: KafkaMessage
}

/** A retryable store or bus failure: backs off this long, at most. */
const MAX_BACKOFF_MS = 5000

/**
 * The ingest consumer: reads the events topic in batches per partition, stores them through the
 * event writer (dedupe, segments, routing all hang off it, as for HTTP ingest) and commits a
 * partition's offset only once its batch is stored, routed and its dead letters are on their
 * topic. A crash anywhere before the commit replays the batch; the replay stores nothing twice,
 * because every id is checked against the store first. Within a partition batches run one after
 * the other, so one user's events are stored (and routed) in the order they were produced.
 */
export class EventConsumer {
  private readonly consumer: Consumer
  private stopping = false
  private assigned: number[] = []
  /** Partitions whose next batch may follow an interrupted insert: newly assigned, or a write failed. */
  private readonly unsure = new Set<number>()

  constructor(private readonly opts: ConsumerOptions) {
    this.consumer = opts.kafka.consumer({
      groupId: opts.groupId,
      // Short fetch waits: the end-to-end lag under light load is what a user sees.
      maxWaitTimeInMs: 100,
      // Bigger fetches than kafkajs's defaults (1 MB a partition, 10 MB in all): a round of
      // batches is bounded by its inserts' latency, so more events a round is more events a
      // second (1 → 4 MB a partition: 19k → 22k events/s consumed on this machine).
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // A member killed without leaving holds its partitions this long: short, since a batch
      // heartbeats while it is stored (see handleBatch), however slow the store.
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    })
  }

  /** The partitions of the topic this member holds since the group's last rebalance. */
  get partitions(): readonly number[] {
    return this.assigned
  }

  async start(): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.assigned = [...(e.payload.memberAssignment[this.opts.topic] ?? [])].sort((a, b) => a - b)
      for (const p of this.assigned) this.unsure.add(p)
    })
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.concurrency,
      eachBatch: (payload) => this.handleBatch(payload),
    })
  }

  /** Leaves the group after the batches in hand are stored and committed (or left for the next owner). */
  async stop(): Promise<void> {
    this.stopping = true
    await this.consumer.disconnect()
    await this.opts.deadLetters.close()
  }

  private async handleBatch(p: EachBatchPayload): Promise<void> {
    if (!p.batch.messages.length) return
    const beat = setInterval(() => void p.heartbeat().catch(() => undefined), 1000)
    try {
      await this.consumeBatch(p)
    } finally {
      clearInterval(beat)
    }
  }

  private async consumeBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p
    const events: Decodable[] = []
    const dead: DeadLetter[] = []
    for (const message of batch.messages) {
      const d = decodeMessage(message, this.opts)
      if (d.ok) events.push({ event: d.event, message })
      else dead.push({ message, partition: batch.partition, reason: d.reason })
    }
    const stored = await this.untilDone(p, () => this.store(events, dead, batch.partition))
    if (!stored) return
    if (dead.length && !(await this.untilDone(p, () => this.opts.deadLetters.send(dead)))) return
    for (const d of dead) this.opts.onDeadLetter?.(d.reason.slice(0, d.reason.indexOf(':')))
    if (!(await this.untilRouted(p, stored.value))) return
    const next = (BigInt(batch.lastOffset()) + 1n).toString()
    p.resolveOffset(batch.lastOffset())
    await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
  }

  /** Stores what is not stored yet; returns the writer's batch number to wait for routing of. */
  private async store(events: Decodable[], dead: DeadLetter[], partition: number): Promise<number> {
    const have = await this.opts.storedIds(
      events.map((e) => e.event),
      this.unsure.has(partition),
    )
    const fresh = have.size ? events.filter((e) => !have.has(e.event.messageId)) : events
    if (fresh.length) {
      try {
        await this.opts.write({ events: fresh.map((e) => e.event) })
      } catch (err) {
        this.unsure.add(partition)
        if (!(err instanceof ValidationError)) throw err
        // The store refused something in the batch for its own data: find it, dead-letter it, store the rest.
        // Added to `dead` only once all are through: an attempt that fails midway is retried whole,
        // and would otherwise dead-letter the same refused message once per attempt.
        dead.push(...(await this.storeOneByOne(fresh, partition)))
      }
    }
    this.unsure.delete(partition)
    this.opts.onStored?.(
      fresh.map((e) => e.event),
      events.length - fresh.length,
    )
    return this.opts.storedSeq()
  }

  private async storeOneByOne(events: Decodable[], partition: number): Promise<DeadLetter[]> {
    const refused: DeadLetter[] = []
    for (const { event, message } of events)
      await this.opts.write({ events: [event] }).catch((err: unknown) => {
        if (!(err instanceof ValidationError)) throw err
        refused.push({ message, partition, reason: `storable: ${err.message}` })
      })
    return refused
  }

  /**
   * Runs `fn` until it succeeds, backing off on failures (a full writer queue, the store or the
   * bus briefly away); handleBatch heartbeats meanwhile, so the group keeps this member. Undefined when
   * the consumer stops or loses the partition first: the batch is left uncommitted for the next owner.
   */
  private async untilDone<T>(p: EachBatchPayload, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { value: await fn() }
      } catch (err) {
        const wait = Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt)
        if (attempt % 5 === 0 || !(err instanceof NudgeError))
          this.opts.log('kafka consumer: batch not stored yet; retrying', { err: String(err), partition: p.batch.partition, wait })
        await new Promise((r) => setTimeout(r, wait))
        if (this.stopping || !p.isRunning() || p.isStale()) return undefined
      }
    }
  }

  /** Waits (handleBatch heartbeats) until routing has caught up with `seq`; false if stopped first. */
  private async untilRouted(p: EachBatchPayload, seq: number): Promise<boolean> {
    const routed = this.opts.routed
    if (!routed) return true
    while (!routed(seq)) {
      if (this.stopping || !p.isRunning() || p.isStale()) return false
      await new Promise((r) => setTimeout(r, 20))
    }
    return true
  }
}

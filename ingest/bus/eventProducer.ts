import { CompressionTypes, type Kafka, type Message, type Producer } from 'kafkajs'
import { NotReadyError, OverloadedError, StoreUnavailableError } from '../../core/errors.js'
import type { EventBus } from '../ingestService.js'
import { orderedProducer } from './kafkaClient.js'
import { type BusMessage, HEADER_RECEIVED_AT, HEADER_SOURCE } from './wireMessage.js'

interface Pending {
  messages: BusMessage[]
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * The API's side of the bus: an idempotent producer, acks from every in-sync replica, one
 * request in flight. Requests arriving while a send runs gather into the next one (a group
 * commit, as the event writer does), so one in flight costs little throughput — and with one in
 * flight a retried send can never overtake a later one, which keeps each user's events in order.
 * A request resolves only once the brokers hold all its messages.
 */
export class EventProducer implements EventBus {
  private readonly producer: Producer
  private readonly queue: Pending[] = []
  private queued = 0
  private sending = false
  private closed = false
  private idleWaiters: (() => void)[] = []

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    /** Events waiting for the bus at most; beyond it requests get 429 (bounded memory, as the writer's queue). */
    private readonly maxQueued: number,
  ) {
    this.producer = orderedProducer(kafka)
  }

  connect(): Promise<void> {
    return this.producer.connect()
  }

  publish(messages: BusMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new NotReadyError('Nudge is shutting down; retry against another instance'))
    if (!messages.length) return Promise.resolve()
    if (this.queued + messages.length > this.maxQueued)
      return Promise.reject(new OverloadedError(`The event bus queue is full (${this.queued} events waiting); retry shortly`))
    this.queued += messages.length
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject })
      if (!this.sending) void this.sendQueued()
    })
  }

  /** Stops accepting; what was accepted is sent, then the connection closes. */
  async close(): Promise<void> {
    this.closed = true
    if (this.sending) await new Promise<void>((r) => this.idleWaiters.push(r))
    await this.producer.disconnect()
  }

  /** The oldest requests, up to MAX_SEND_BYTES (always at least one: a request is sent whole). */
  private takeBatch(): Pending[] {
    const batch = [this.queue.shift()!]
    let bytes = bytesOf(batch[0]!)
    while (this.queue.length) {
      const next = bytesOf(this.queue[0]!)
      if (bytes + next > MAX_SEND_BYTES) break
      bytes += next
      batch.push(this.queue.shift()!)
    }
    return batch
  }

  private async sendQueued(): Promise<void> {
    this.sending = true
    try {
      while (this.queue.length) {
        const batch = this.takeBatch()
        for (const p of batch) this.queued -= p.messages.length
        try {
          await this.producer.send({
            topic: this.topic,
            acks: -1,
            // Segment JSON repeats its keys in every message: lz4 would need a codec package, gzip is built in.
            compression: CompressionTypes.None,
            messages: batch.flatMap((p) => p.messages.map(toKafka)),
          })
          for (const p of batch) p.resolve()
        } catch (err) {
          const message = `The event bus did not take the events (${err instanceof Error ? err.message : String(err)}); nothing was acknowledged, retry`
          for (const p of batch) p.reject(new StoreUnavailableError(message))
        }
      }
    } finally {
      this.sending = false
      for (const w of this.idleWaiters.splice(0)) w()
    }
  }
}

/**
 * A broker refuses a record batch over `message.max.bytes` (1 MB by default) for one partition;
 * a send carries at most about that much in all, so no partition's share can exceed it.
 */
const MAX_SEND_BYTES = 900_000

function bytesOf(p: Pending): number {
  let n = 0
  for (const m of p.messages) n += m.value.length + m.key.length + 64
  return n
}

function toKafka(m: BusMessage): Message {
  return { key: m.key, value: m.value, headers: { [HEADER_SOURCE]: m.source, [HEADER_RECEIVED_AT]: String(m.receivedAt) } }
}

import { type Kafka, Partitioners, type Producer } from 'kafkajs'
import { createKafka } from '../../ingest/bus/kafkaClient.js'

/**
 * The process's Kafka producers for destinations, one per broker list: destinations on the same
 * cluster share one connection set. Each is idempotent with one request in flight, so a producer's
 * own retry can neither duplicate a record on the broker nor reorder two of them. A producer that
 * failed to connect is forgotten, so the next attempt (the batch's Temporal retry) connects afresh.
 */
export class KafkaProducers {
  private readonly producers = new Map<string, Promise<Producer>>()
  private readonly clients = new Map<string, Kafka>()
  private closed = false

  constructor(
    private readonly clientId: string,
    private readonly log?: (msg: string, extra?: Record<string, unknown>) => void,
  ) {}

  /** A connected producer for these brokers (the same one for the same list, in any order). */
  producer(brokers: string[]): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('Nudge is shutting down: Kafka destinations are closed'))
    const key = [...brokers].sort().join(',')
    let p = this.producers.get(key)
    if (!p) {
      p = this.connect(key, brokers)
      this.producers.set(key, p)
      p.catch(() => this.producers.get(key) === p && this.producers.delete(key))
    }
    return p
  }

  /** Disconnects every producer (shutdown): what they were sending is awaited by kafkajs. */
  async close(): Promise<void> {
    this.closed = true
    const all = [...this.producers.values()]
    this.producers.clear()
    await Promise.all(all.map((p) => p.then((producer) => producer.disconnect()).catch(() => undefined)))
  }

  private async connect(key: string, brokers: string[]): Promise<Producer> {
    let kafka = this.clients.get(key)
    if (!kafka) {
      // A few quick retries only: a batch that fails is retried by its workflow with backoff, and
      // an unreachable cluster must fail the attempt in seconds, not after kafkajs's ~20 s.
      kafka = createKafka(
        { brokers, clientId: this.clientId, ...(this.log ? { log: this.log } : {}) },
        { retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 }, connectionTimeout: 3000, requestTimeout: 10_000 },
      )
      this.clients.set(key, kafka)
    }
    // The Java client's partitioner (murmur2 of the key): a user's records land on the partition
    // a Java producer would choose for the same key.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    return producer
  }
}

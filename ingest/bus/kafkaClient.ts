import { type Admin, Kafka, type KafkaConfig, type LogEntry, logLevel, Partitioners, type Producer } from 'kafkajs'

/** Where the bus is and what its topics are called (from KAFKA_* settings). */
export interface BusSettings {
  brokers: string[]
  clientId: string
  topic: string
  deadLetterTopic: string
  groupId: string
  /** Partitions of the events topic when Nudge creates it (an existing topic keeps its own). */
  partitions: number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

/**
 * One kafkajs client. Its own logger is routed to ours at warn level: kafkajs logs every
 * reconnect and rebalance at info, which would drown Nudge's log under a broker restart.
 */
export function createKafka(
  s: Pick<BusSettings, 'brokers' | 'clientId' | 'log'>,
  /** A caller with retries of its own (destinations: a Temporal backoff) bounds kafkajs's here. */
  tuning: Pick<KafkaConfig, 'retry' | 'connectionTimeout' | 'requestTimeout'> = {},
): Kafka {
  return new Kafka({
    clientId: s.clientId,
    brokers: s.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        if (level > logLevel.WARN || isNoise(namespace, log.message)) return
        const { message, ...extra } = log
        s.log?.(`kafka ${namespace}: ${message}`, extra)
      },
    // A broker that is briefly away (a restart, a leader move) is retried well past kafkajs's
    // default ~5 s, so the API answers 503 only when the bus is really gone.
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    ...tuning,
  })
}

/**
 * A producer whose sends land in order and once: idempotent, one request in flight, acks from every
 * in-sync replica (the caller passes `acks: -1`). The Java client's partitioner (murmur2 of the key):
 * another system producing a user's events with a Java client puts them on the same partition as
 * Nudge does. Retries are bounded (kafkajs's idempotent default is forever): an HTTP request must
 * end in a 503 the client retries, and a repeat that reaches the topic twice is dropped by the
 * consumer's dedupe on messageId.
 */
export function orderedProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 6, maxRetryTime: 3000 },
  })
}

/**
 * kafkajs logs every error response of a connection (a fresh broker's "coordinator is loading",
 * a leader moving), which the caller then retries and reports if it fails for good; and warns that
 * bounded retries of an idempotent producer weaken its guarantees — bounded on purpose (see
 * EventProducer), the consumer's dedupe covers a repeat.
 */
function isNoise(namespace: string, message: string): boolean {
  return (
    (namespace === 'Connection' && message.startsWith('Response ')) || message.startsWith('Limiting retries for the idempotent producer')
  )
}

/**
 * Creates the events topic and its dead-letter topic if missing (idempotent; a user's cluster
 * may have created them with its own settings, which are kept). Replication is the cluster's
 * default: a single test broker has 1, a real cluster its configured 3.
 */
export async function ensureTopics(kafka: Kafka, s: Pick<BusSettings, 'topic' | 'deadLetterTopic' | 'partitions'>): Promise<void> {
  const admin: Admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const wanted = [
      { topic: s.topic, numPartitions: s.partitions },
      { topic: s.deadLetterTopic, numPartitions: 1 },
    ].filter((t) => !existing.has(t.topic))
    if (wanted.length) await admin.createTopics({ topics: wanted, waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

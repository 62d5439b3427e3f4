import { randomUUID } from 'node:crypto'
import { type Kafka, type Message, Partitioners } from 'kafkajs'
import { inject } from 'vitest'
import { createKafka } from '../../ingest/bus/kafkaClient.js'
import { selectRows } from '../../clickhouse/store.js'
import type { ClickHouseClient } from '@clickhouse/client'
import { loadConfig } from '../../runtime/config.js'
import { createLogger } from '../../core/log.js'
import { type RunningNudge, startNudge } from '../../runtime/nudge.js'
import { ADMIN_KEY, ENCRYPTION_KEY, WRITE_KEY } from './harness.js'

/** The run's broker (globalSetup), or a clear failure saying why there is none. */
export function kafkaBrokers(): string {
  const brokers = inject('kafkaBrokers')
  if (!brokers && inject('kafkaUnavailable')) throw new Error(inject('kafkaUnavailable'))
  if (!brokers)
    throw new Error(
      'No Kafka broker in this run: name a kafka*.test.ts file (or no file) to vitest, or set KAFKA_BROKERS to your own cluster',
    )
  return brokers
}

/** INGEST_MODE=kafka on fresh topics and a fresh group: test files never see each other's events. */
// A type, not an interface: it must still pass as a Record<string, string>.
export type KafkaTestEnv = {
  INGEST_MODE: string
  KAFKA_BROKERS: string
  KAFKA_TOPIC: string
  KAFKA_DLQ_TOPIC: string
  KAFKA_GROUP_ID: string
  KAFKA_PARTITIONS: string
}

export function kafkaTestEnv(partitions = 6): KafkaTestEnv {
  const suffix = randomUUID().slice(0, 8)
  return {
    INGEST_MODE: 'kafka',
    KAFKA_BROKERS: kafkaBrokers(),
    KAFKA_TOPIC: `test.events.${suffix}`,
    KAFKA_DLQ_TOPIC: `test.events.${suffix}.dlq`,
    KAFKA_GROUP_ID: `test-group-${suffix}`,
    KAFKA_PARTITIONS: String(partitions),
  }
}

export function testKafka(): Kafka {
  return createKafka({ brokers: [kafkaBrokers()], clientId: 'nudge-test' })
}

/**
 * Nudge in this process with INGEST_MODE=kafka: the API (producing) and the consumer (storing),
 * no worker — role `api` plus `consume`, as an API replica and a `start:consumer` in one.
 */
export async function startKafkaNudge(
  dataDir: string,
  env: Record<string, string>,
  consume = true,
): Promise<RunningNudge & { url: string }> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    WRITE_KEYS: `web:${WRITE_KEY}`,
    ADMIN_API_KEY: ADMIN_KEY,
    NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    TEMPORAL_TASK_QUEUE: `test-${process.pid}`,
    ...env,
  })
  const nudge = await startNudge({
    config,
    role: 'api',
    consume,
    temporalAddress: inject('temporalAddress'),
    log: createLogger(config.LOG_LEVEL),
    port: 0,
  })
  return { ...nudge, url: nudge.url ?? '' }
}

/** Produces raw messages (as any other system would), acks from all replicas. */
export async function produceRaw(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < messages.length; i += 2000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2000) })
  } finally {
    await producer.disconnect()
  }
}

/** Committed offsets of the group on the topic, summed, against the topic's end offsets, summed. */
export async function groupProgress(kafka: Kafka, groupId: string, topic: string): Promise<{ committed: number; end: number }> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [ends, [offsets]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })])
    const end = ends.reduce((n, p) => n + Number(p.high), 0)
    const committed = (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
    return { committed, end }
  } finally {
    await admin.disconnect()
  }
}

/** Until the group has committed everything on the topic (nothing in these tests produces meanwhile). */
export async function untilConsumed(kafka: Kafka, groupId: string, topic: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const p = await groupProgress(kafka, groupId, topic)
    if (p.end > 0 && p.committed >= p.end) return
    if (Date.now() > deadline) throw new Error(`group ${groupId} committed ${p.committed} of ${p.end} in ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Rows of `events` with these ids, and how many distinct ids among them (equal: nothing twice). */
export async function eventCounts(client: ClickHouseClient, prefix: string): Promise<{ rows: number; ids: number }> {
  const [r] = await selectRows<{ rows: number | string; ids: number | string }>(
    client,
    'SELECT count() AS rows, uniqExact(message_id) AS ids FROM events WHERE startsWith(message_id, {p:String})',
    { p: prefix },
  )
  return { rows: Number(r?.rows ?? 0), ids: Number(r?.ids ?? 0) }
}

/** Every message of a topic from the start (the dead-letter topic is small in tests). */
export async function readTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 30_000) {
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100 })
  const seen: { key: string | null; value: string | null; headers: Record<string, string> }[] = []
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))
        seen.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers })
        if (seen.length >= expected) resolve()
      },
    })
  })
  await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))])
  await consumer.disconnect()
  return seen
}

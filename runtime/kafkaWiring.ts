import { Counter, type Registry } from 'prom-client'
import type { Kafka } from 'kafkajs'
import type { Logger } from '../core/log.js'
import { DeadLetters } from '../ingest/bus/deadLetters.js'
import { EventConsumer } from '../ingest/bus/eventConsumer.js'
import { EventProducer } from '../ingest/bus/eventProducer.js'
import { createKafka, ensureTopics } from '../ingest/bus/kafkaClient.js'
import { storedIds } from '../ingest/bus/storedIds.js'
import { makeKeyMatcher } from '../ingest/minimize.js'
import type { Config } from './config.js'
import type { DataParts } from './dataWiring.js'
import type { ShutdownStep } from './shutdownPlan.js'

/**
 * `INGEST_MODE=kafka`: the producer the API acknowledges through, and (where this process
 * consumes: `npm start`, `npm run start:consumer`) the consumer that stores, dedupes and routes.
 */
export interface Bus {
  kafka: Kafka
  producer?: EventProducer
  consumer?: EventConsumer
}

/** The bus's client and, for a process that serves the API, its connected producer; undefined in `direct` mode. */
export async function startBus(config: Config, log: Logger, opts: { produce: boolean }): Promise<Bus | undefined> {
  if (config.INGEST_MODE !== 'kafka') return undefined
  if (!config.KAFKA_BROKERS?.length) throw new Error('INGEST_MODE=kafka needs KAFKA_BROKERS (host:port of your Kafka brokers)')
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, log: log.warn })
  await ensureTopics(kafka, { topic: config.KAFKA_TOPIC, deadLetterTopic: config.KAFKA_DLQ_TOPIC, partitions: config.KAFKA_PARTITIONS })
  if (!opts.produce) return { kafka }
  const producer = new EventProducer(kafka, config.KAFKA_TOPIC, config.INGEST_MAX_QUEUED_ROWS)
  await producer.connect()
  return { kafka, producer }
}

/** Starts consuming into this process's writer; `routedSeq` (the journey router's) gates each commit. */
export async function startConsumer(
  config: Config,
  log: Logger,
  bus: Bus,
  data: Pick<DataParts, 'writer' | 'store' | 'metrics'>,
  routedSeq?: () => number,
): Promise<EventConsumer> {
  const counters = busMetrics(data.metrics.registry)
  const deadLetters = new DeadLetters(bus.kafka, config.KAFKA_DLQ_TOPIC, config.KAFKA_TOPIC)
  await deadLetters.connect()
  const consumer = new EventConsumer({
    kafka: bus.kafka,
    topic: config.KAFKA_TOPIC,
    groupId: config.KAFKA_GROUP_ID,
    concurrency: config.KAFKA_PARTITIONS,
    dropKey: makeKeyMatcher(config.DROP_PROPERTY_KEYS),
    consentCategoryMap: config.consentCategoryMap,
    write: (req) => data.writer.write(req),
    storedSeq: () => data.writer.storedSeq,
    ...(routedSeq ? { routed: (seq: number) => routedSeq() >= seq } : {}),
    storedIds: (events, thorough) => storedIds(data.store.client, events, thorough),
    deadLetters,
    onDeadLetter: (reason) => counters.dead.inc({ reason }),
    onStored: (events, duplicates) => {
      counters.consumed.inc({ outcome: 'stored' }, events.length)
      if (duplicates) counters.consumed.inc({ outcome: 'duplicate' }, duplicates)
    },
    log: log.warn,
  })
  await consumer.start()
  return consumer
}

function busMetrics(registry: Registry) {
  return {
    dead: new Counter({
      name: 'nudge_kafka_dead_letters_total',
      help: 'Messages of the events topic sent to the dead-letter topic instead of stored, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'nudge_kafka_consumed_events_total',
      help: 'Events read from the events topic, by outcome (stored, or duplicate of a stored event)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  }
}

/**
 * The bus's places in the shutdown plan, right after HTTP stops: the producer sends what the API
 * acknowledged, then the consumer finishes its batches in hand — before the writer is drained
 * and routing stops, which those batches need.
 */
export function withBusSteps(steps: readonly ShutdownStep[], bus: Bus | undefined): ShutdownStep[] {
  if (!bus) return [...steps]
  const own: ShutdownStep[] = [
    { name: 'send acknowledged events to Kafka', timeoutMs: 10_000, run: () => bus.producer?.close() },
    { name: 'stop consuming from Kafka', timeoutMs: 30_000, run: () => bus.consumer?.stop() },
  ]
  return [steps[0]!, ...own, ...steps.slice(1)]
}

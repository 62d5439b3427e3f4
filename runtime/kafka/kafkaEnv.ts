import { z } from 'zod'

/**
 * The Kafka settings (a section of envSchema.ts, kept here so the bus's keys live beside the
 * broker provisioning). `INGEST_MODE=kafka` makes the API acknowledge by producing to the topic.
 */
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
)
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name')

export const kafkaEnv = {
  INGEST_MODE: z
    .enum(['direct', 'kafka'])
    .default('direct')
    .describe(
      '`direct`: the API stores events itself. `kafka`: the API validates and acknowledges once the event is on `KAFKA_TOPIC`; a consumer group stores, dedupes and routes (`npm run start:consumer`, or in-process with `npm start`). See docs/kafka.md.',
    ),
  KAFKA_BROKERS: csv.optional().meta({
    description: 'Comma-separated `host:port` of your Kafka cluster.',
    unset: '`npm start` with `INGEST_MODE=kafka` runs a local single-node broker (Java 17 and Maven needed once)',
  }),
  KAFKA_TOPIC: topicName.default('nudge.events').describe('Topic of incoming events (Segment JSON, keyed by the user).'),
  KAFKA_DLQ_TOPIC: topicName
    .default('nudge.events.dlq')
    .describe('Dead-letter topic: messages the consumer cannot store, with the reason in the `nudge-error` header.'),
  KAFKA_GROUP_ID: z.string().min(1).default('nudge-ingest').describe('Consumer group of the ingest consumers.'),
  KAFKA_CLIENT_ID: z.string().min(1).default('nudge').describe('Client id Nudge gives the brokers (their logs and quotas).'),
  KAFKA_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(6)
    .describe('Partitions of `KAFKA_TOPIC` when Nudge creates it; at most this many consumers share the work.'),
}

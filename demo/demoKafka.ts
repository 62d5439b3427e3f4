import { busProgress } from '../ingest/bus/busProgress.js'
import { createKafka } from '../ingest/bus/kafkaClient.js'
import type { Config } from '../runtime/config.js'

/**
 * DEMO_KAFKA=1: the shoppers' events went API → Kafka → consumer → ClickHouse. Waits until the
 * consumer group has committed everything on the topic (the reports read the store), then says
 * what flowed through the bus.
 */
export async function kafkaCaughtUp(config: Config, say: (line: string) => void, timeoutMs = 120_000): Promise<void> {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS!, clientId: 'nudge-demo' })
  const settings = { topic: config.KAFKA_TOPIC, deadLetterTopic: config.KAFKA_DLQ_TOPIC, groupId: config.KAFKA_GROUP_ID }
  const deadline = Date.now() + timeoutMs
  let p = await busProgress(kafka, settings)
  while (p.committed < p.produced && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250))
    p = await busProgress(kafka, settings)
  }
  say(
    `Kafka (${config.KAFKA_BROKERS!.join(',')}): ${p.produced} events through ${config.KAFKA_TOPIC} (${p.partitions} partitions), ` +
      `${p.committed} stored and committed by group ${config.KAFKA_GROUP_ID} (lag ${p.produced - p.committed}), ${p.deadLetters} dead letters.`,
  )
}

import type { DestinationOf } from '../destinationSchema.js'
import type { DestinationRecord } from '../destinationRecord.js'
import { recordBody } from '../mapping.js'
import type { SendResult } from './httpCall.js'
import { classifyKafkaError } from './kafkaErrors.js'
import type { KafkaProducers } from './kafkaProducers.js'
import type { Sender } from './sender.js'

/** The record id (the same on every retry and replay): a consumer drops a repeat by it. */
export const KAFKA_ID_HEADER = 'nudge-delivery-id'
export const KAFKA_TYPE_HEADER = 'nudge-record-type'

/**
 * A Kafka topic: one message per record, keyed by the user's key so one user's records stay on
 * one partition in order; the value is the webhook's JSON body. Sent with acks from every in-sync
 * replica: a record counts as delivered only once the cluster cannot lose it. Erasure: a
 * tombstone (the user's key, no value) when the topic is compacted — compaction then drops the
 * user's earlier messages; an uncompacted topic keeps them until its retention ends (no call).
 */
export function kafkaSender(d: DestinationOf<'kafka'>, producers: KafkaProducers, defaultBrokers: string[] = []): Sender {
  const c = d.config
  const brokers = c.brokers?.length ? c.brokers : defaultBrokers
  const produce = async (key: string, value: string | null, headers: Record<string, string>): Promise<SendResult> => {
    if (!brokers.length) return { status: 'permanent', code: 'rejected', reason: 'no Kafka brokers: set config.brokers or KAFKA_BROKERS' }
    try {
      const producer = await producers.producer(brokers)
      await producer.send({ topic: c.topic, acks: -1, timeout: d.timeoutMs, messages: [{ key, value, headers }] })
      return { status: 'ok' }
    } catch (err) {
      return classifyKafkaError(err)
    }
  }
  return {
    send(r: DestinationRecord) {
      return produce(r.userKey, JSON.stringify(recordBody(r, c.mapping)), { [KAFKA_ID_HEADER]: r.id, [KAFKA_TYPE_HEADER]: r.kind })
    },
    ...(c.compacted ? { erase: (userId: string) => produce(userId, null, { [KAFKA_TYPE_HEADER]: 'user_erased' }) } : {}),
  }
}

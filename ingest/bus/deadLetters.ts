import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs'
import { orderedProducer } from './kafkaClient.js'
import { HEADER_ERROR, HEADER_ORIGIN } from './wireMessage.js'

export interface DeadLetter {
  message: KafkaMessage
  partition: number
  reason: string
}

/**
 * The dead-letter topic: a message the consumer cannot store goes there unchanged (key, value,
 * headers) with why in `nudge-error` and where it came from in `nudge-origin`, so the partition
 * goes on and someone can look at it, fix the producer, and produce it again.
 */
export class DeadLetters {
  private readonly producer: Producer

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly sourceTopic: string,
  ) {
    this.producer = orderedProducer(kafka)
  }

  connect(): Promise<void> {
    return this.producer.connect()
  }

  /** Resolves once the brokers hold them all; the consumer commits past them only then. */
  async send(letters: DeadLetter[]): Promise<void> {
    if (!letters.length) return
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: letters.map((l) => ({
        key: l.message.key,
        value: l.message.value,
        headers: {
          ...(l.message.headers as IHeaders | undefined),
          [HEADER_ERROR]: l.reason,
          [HEADER_ORIGIN]: `${this.sourceTopic}/${l.partition}/${l.message.offset}`,
        },
      })),
    })
  }

  close(): Promise<void> {
    return this.producer.disconnect()
  }
}

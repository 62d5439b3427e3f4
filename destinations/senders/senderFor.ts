import type { DestinationDefinition } from '../destinationSchema.js'
import { hubspotSender } from './hubspotSender.js'
import { kafkaSender } from './kafkaSender.js'
import type { KafkaProducers } from './kafkaProducers.js'
import { salesforceSender } from './salesforceSender.js'
import { segmentSender } from './segmentSender.js'
import type { Sender } from './sender.js'
import { webhookSender } from './webhookSender.js'

/** What a sender may need of the process: Kafka's producers (shared per broker list) and default brokers. */
export interface SenderContext {
  kafka?: { producers: KafkaProducers; brokers: string[] }
}

/**
 * The sender of a destination's kind, or undefined when this process cannot deliver to it: a
 * `kafka` destination needs the process's producers (runtime/destinationsWiring.ts passes them).
 */
export function senderFor(d: DestinationDefinition, ctx: SenderContext = {}): Sender | undefined {
  switch (d.kind) {
    case 'webhook':
      return webhookSender(d)
    case 'hubspot':
      return hubspotSender(d)
    case 'salesforce':
      return salesforceSender(d)
    case 'segment':
      return segmentSender(d)
    case 'kafka':
      return ctx.kafka ? kafkaSender(d, ctx.kafka.producers, ctx.kafka.brokers) : undefined
  }
}

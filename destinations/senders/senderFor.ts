import type { DestinationDefinition } from '../destinationSchema.js'
import { hubspotSender } from './hubspotSender.js'
import { salesforceSender } from './salesforceSender.js'
import { segmentSender } from './segmentSender.js'
import type { Sender } from './sender.js'
import { webhookSender } from './webhookSender.js'

/**
 * The sender of a destination's kind, or undefined when Nudge cannot deliver to it yet: `kafka`
 * waits for the Kafka client (ingest/bus/), so its records are not enqueued at all.
 */
export function senderFor(d: DestinationDefinition): Sender | undefined {
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
      return undefined
  }
}

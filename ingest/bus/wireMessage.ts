import { randomUUID } from 'node:crypto'
import type { NormalizeOptions } from '../normalize.js'
import type { SegmentEvent } from '../segmentSpec.js'

/**
 * What goes on the events topic: one Segment message as JSON (the shape any other system can
 * produce too), keyed by the user's stable key so one user's events stay in order on one
 * partition. Nudge's API adds two headers; a message without them is from another producer.
 */
export const HEADER_SOURCE = 'nudge-source'
export const HEADER_RECEIVED_AT = 'nudge-received-at'
/** On a dead letter: why it could not be stored (`rule: message`). */
export const HEADER_ERROR = 'nudge-error'
/** On a dead letter: where it came from, `topic/partition/offset`. */
export const HEADER_ORIGIN = 'nudge-origin'
/** Source name of events produced to the topic by something other than Nudge's API. */
export const EXTERNAL_SOURCE = 'kafka'

export interface BusMessage {
  key: string
  value: string
  source: string
  receivedAt: number
}

/**
 * The message for one validated event, made before `normalizeEvent` (which changes `raw` in
 * place). The id is fixed here, so a consumer replaying it (or a retry of the produce) is
 * recognised as the same event; batch-level sentAt and context are folded in, so the consumer
 * normalises it exactly as the API would have.
 */
export function wireValue(raw: SegmentEvent, opts: Pick<NormalizeOptions, 'batch'>): string {
  raw.messageId ??= `nudge-${randomUUID()}`
  const sentAt = raw.sentAt ?? opts.batch?.sentAt
  const context = opts.batch?.context ? { ...opts.batch.context, ...(raw.context ?? {}) } : raw.context
  return JSON.stringify({ ...raw, ...(sentAt ? { sentAt } : {}), ...(context ? { context } : {}) })
}

import { createHash } from 'node:crypto'
import type { RecordKind } from './destinationSchema.js'

/**
 * One fact about a user on its way to a destination. The id is derived from the fact itself (the
 * segment, user, time and direction of a transition; the message and outcome of an outcome), so a
 * source read twice enqueues it once and a receiver can dedupe by it.
 */
export interface DestinationRecord {
  id: string
  userKey: string
  kind: RecordKind
  /** When it happened (ms). */
  at: number
  /** Fields the mapping may read: segmentId, messageId, journeyId, stepId, template, url, event, traits. */
  data: RecordData
}

export interface RecordData {
  segmentId?: string
  messageId?: string
  journeyId?: string
  stepId?: string
  template?: string
  url?: string
  traits?: Record<string, unknown>
}

/** The event name a record is sent as (Segment track, webhook `event`). */
export const EVENT_NAMES: Record<RecordKind, string> = {
  segment_entered: 'Segment Entered',
  segment_exited: 'Segment Exited',
  traits: 'Traits Computed',
  sent: 'Email Sent',
  opened: 'Email Opened',
  clicked: 'Email Link Clicked',
  converted: 'Email Converted',
  unsubscribed: 'Email Unsubscribed',
}

export function recordId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)
}

import type { EventType } from './segmentSpec.js'

/** `link`: carried over when an anonymous id and a user id are linked (a choice made before sign-in holds after it). */
export type ConsentSource = 'api' | 'identify' | 'cmp' | 'link' | 'unsubscribe'

export interface ConsentUpdate {
  userKey: string
  topic: string
  granted: boolean
  changedAt: number
  source: ConsentSource
  messageId: string
}

/** A validated Segment message after skew correction and data minimisation: what the store sees. */
export interface IngestEvent {
  messageId: string
  source: string
  type: EventType
  event: string
  name: string
  userId: string
  anonymousId: string
  /** userId when known, otherwise anonymousId: the key of the profile this event belongs to. */
  userKey: string
  timestamp: number
  originalTimestamp: number | null
  sentAt: number | null
  receivedAt: number
  properties: Record<string, unknown>
  traits: Record<string, unknown>
  context: Record<string, unknown>
  /** The three objects serialised once, at ingest: the row stores them and the size check uses them. */
  json: { properties: string; traits: string; context: string }
  groupId: string
  previousId: string
  /** Contact details lifted out of traits; they are stored encrypted in the profile, never in the event row. */
  contacts: { email?: string; phone?: string }
  consent: Omit<ConsentUpdate, 'messageId' | 'changedAt' | 'userKey'>[]
}

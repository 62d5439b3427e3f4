import { createHmac } from 'node:crypto'
import type { ContactCipher } from '../core/contactCipher.js'
import type { ConsentUpdate, IngestEvent } from './types.js'

/** Row shapes of the tables written at ingest (see analytics/migrations). */
export interface EventRow {
  message_id: string
  source: string
  type: string
  event: string
  name: string
  user_id: string
  anonymous_id: string
  user_key: string
  timestamp: number
  original_timestamp: number | null
  sent_at: number | null
  received_at: number
  properties: string
  traits: string
  context: string
  group_id: string
  previous_id: string
  consent_limited: number
  /** The write batch that stored it (stamped by the writer; see migration 005). */
  ingest_seq: number
}
export const EVENT_COLUMNS = [
  'message_id',
  'source',
  'type',
  'event',
  'name',
  'user_id',
  'anonymous_id',
  'user_key',
  'timestamp',
  'original_timestamp',
  'sent_at',
  'received_at',
  'properties',
  'traits',
  'context',
  'group_id',
  'previous_id',
  'consent_limited',
  'ingest_seq',
] as const satisfies readonly (keyof EventRow)[]

export interface TraitRow {
  user_key: string
  key: string
  value: string
  updated_at: number
  message_id: string
  ingest_seq?: number
}
export interface ContactRow {
  user_key: string
  kind: string
  value_enc: string
  lookup_hash: string
  updated_at: number
}
export interface IdentityRow {
  user_id: string
  anonymous_id: string
  kind: string
  linked_at: number
  message_id: string
  ingest_seq?: number
}
export interface ConsentRow {
  user_key: string
  topic: string
  granted: number
  changed_at: number
  source: string
  message_id: string
  recorded_at: number
  ingest_seq?: number
}

export interface RowSet {
  /** The write batch (0 until the writer stamps it). */
  seq: number
  events: EventRow[]
  traits: TraitRow[]
  contacts: ContactRow[]
  identities: IdentityRow[]
  consent: ConsentRow[]
}

export const emptyRowSet = (): RowSet => ({ seq: 0, events: [], traits: [], contacts: [], identities: [], consent: [] })

/**
 * The event row. With tracking consent withheld only the minimum is kept — ids, type, name and
 * times — so a purchase still ends a journey and a retry is still recognised, but nothing about
 * what the person looked at or where they were.
 */
export function eventRow(e: IngestEvent, trackingAllowed: boolean): EventRow {
  return {
    message_id: e.messageId,
    source: e.source,
    type: e.type,
    event: e.event,
    name: trackingAllowed ? e.name : '',
    user_id: e.userId,
    anonymous_id: e.anonymousId,
    user_key: e.userKey,
    timestamp: e.timestamp,
    original_timestamp: e.originalTimestamp,
    sent_at: e.sentAt,
    received_at: e.receivedAt,
    properties: trackingAllowed ? e.json.properties : '{}',
    traits: trackingAllowed ? e.json.traits : '{}',
    context: trackingAllowed ? e.json.context : '{}',
    group_id: e.groupId,
    previous_id: e.previousId,
    consent_limited: trackingAllowed ? 0 : 1,
    ingest_seq: 0,
  }
}

export function traitRows(e: IngestEvent): TraitRow[] {
  if (e.type !== 'identify') return []
  return Object.entries(e.traits).map(([key, value]) => ({
    user_key: e.userKey,
    key,
    value: JSON.stringify(value ?? null),
    updated_at: e.timestamp,
    message_id: e.messageId,
  }))
}

export function contactRows(e: IngestEvent, cipher: ContactCipher, lookupKey: Buffer): ContactRow[] {
  const rows: ContactRow[] = []
  for (const kind of ['email', 'phone'] as const) {
    const value = e.contacts[kind]
    if (!value) continue
    rows.push({
      user_key: e.userKey,
      kind,
      value_enc: cipher.encrypt(value),
      lookup_hash: contactLookupHash(lookupKey, kind, value),
      updated_at: e.timestamp,
    })
  }
  return rows
}

export function contactLookupHash(lookupKey: Buffer, kind: string, value: string): string {
  const normalised = kind === 'email' ? value.trim().toLowerCase() : value.replace(/[^\d+]/g, '')
  return createHmac('sha256', lookupKey).update(`${kind}:${normalised}`).digest('hex')
}

export function identityRows(e: IngestEvent): IdentityRow[] {
  if (e.type === 'alias' && e.previousId && e.userId && e.previousId !== e.userId)
    return [{ user_id: e.userId, anonymous_id: e.previousId, kind: 'alias', linked_at: e.timestamp, message_id: e.messageId }]
  // Any message carrying both ids links them (Segment's identify does; track/page with both do too).
  if (e.userId && e.anonymousId)
    return [
      {
        user_id: e.userId,
        anonymous_id: e.anonymousId,
        kind: e.type === 'identify' ? 'identify' : 'event',
        linked_at: e.timestamp,
        message_id: e.messageId,
      },
    ]
  return []
}

export function consentRow(c: ConsentUpdate, recordedAt: number): ConsentRow {
  return {
    user_key: c.userKey,
    topic: c.topic,
    granted: c.granted ? 1 : 0,
    changed_at: c.changedAt,
    source: c.source,
    message_id: c.messageId,
    recorded_at: recordedAt,
  }
}

import type { DestinationRecord } from './destinationRecord.js'
import { EVENT_NAMES } from './destinationRecord.js'

/**
 * Applies a destination's field mapping (destination field → source path) to a record. Paths the
 * record does not have are left out rather than sent empty: a CRM property must not be cleared
 * because this record is about something else (an exit carries no trait values).
 */
export function mapRecord(record: DestinationRecord, mapping: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [field, path] of Object.entries(mapping)) {
    const value = sourceValue(record, path)
    if (value !== undefined && value !== null) out[field] = value
  }
  return out
}

export function sourceValue(record: DestinationRecord, path: string): unknown {
  if (path.startsWith('traits.')) return record.data.traits?.[path.slice(7)]
  switch (path) {
    case 'userId':
      return record.userKey
    case 'kind':
      return record.kind
    case 'event':
      return EVENT_NAMES[record.kind]
    case 'at':
      return new Date(record.at).toISOString()
    default:
      return (record.data as Record<string, unknown>)[path]
  }
}

/** Every field of a record, as a receiver with no mapping gets it. */
export function defaultFields(record: DestinationRecord): Record<string, unknown> {
  const { traits, ...rest } = record.data
  return { ...rest, ...(traits ? { traits } : {}) }
}

/** The JSON body of a record as the webhook and Kafka kinds send it (docs/destinations.md). */
export function recordBody(r: DestinationRecord, mapping: Record<string, string>): Record<string, unknown> {
  return {
    id: r.id,
    type: r.kind,
    event: EVENT_NAMES[r.kind],
    userId: r.userKey,
    timestamp: new Date(r.at).toISOString(),
    properties: Object.keys(mapping).length ? mapRecord(r, mapping) : defaultFields(r),
  }
}

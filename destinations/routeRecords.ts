import type { DestinationRecord } from './destinationRecord.js'
import { recordId } from './destinationRecord.js'
import type { DestinationDefinition, RecordKind } from './destinationSchema.js'

/** Whether a destination's selection takes a record (the traits record is added by `withTraits`). */
export function selects(d: DestinationDefinition, r: DestinationRecord): boolean {
  const s = d.records
  switch (r.kind) {
    case 'segment_entered':
    case 'segment_exited':
      return (
        !!s.segments &&
        (r.kind === 'segment_entered' ? s.segments.entered : s.segments.exited) &&
        (!s.segments.segments.length || s.segments.segments.includes(r.data.segmentId ?? ''))
      )
    case 'traits':
      return !!s.traits
    default:
      return (
        !!s.outcomes &&
        s.outcomes.kinds.includes(r.kind as Exclude<RecordKind, 'segment_entered' | 'segment_exited' | 'traits'>) &&
        (!s.outcomes.journeys.length || s.outcomes.journeys.includes(r.data.journeyId ?? ''))
      )
  }
}

/**
 * Computed traits travel when something happened to the user: one traits record per user per read,
 * after their latest record, keyed by it (so an overlapping read makes the same id), carrying the
 * properties the destination selected. A traits record the outbox already holds (`known`) is not
 * computed again: every poll re-reads the overlap, and a user's traits cost store queries.
 */
export async function withTraits(
  d: DestinationDefinition,
  happened: DestinationRecord[],
  traitsOf: (userKey: string) => Promise<Record<string, unknown>>,
  known: ReadonlySet<string> = new Set(),
): Promise<DestinationRecord[]> {
  const props = d.records.traits?.properties
  if (!props) return []
  const out: DestinationRecord[] = []
  for (const [userKey, last] of latestPerUser(happened)) {
    const id = traitsRecordId(d, last)
    if (known.has(id)) continue
    const all = await traitsOf(userKey)
    const traits = Object.fromEntries(props.map((p) => [p, all[p] ?? null]))
    out.push({ id, userKey, kind: 'traits', at: last.at, data: { traits } })
  }
  return out
}

/** The ids of the traits records `withTraits` would make (none when the destination takes no traits). */
export function traitsRecordIds(d: DestinationDefinition, happened: DestinationRecord[]): string[] {
  if (!d.records.traits) return []
  return [...latestPerUser(happened).values()].map((last) => traitsRecordId(d, last))
}

const traitsRecordId = (d: DestinationDefinition, last: DestinationRecord) => recordId('traits', d.id, last.id)

function latestPerUser(happened: DestinationRecord[]): Map<string, DestinationRecord> {
  const latest = new Map<string, DestinationRecord>()
  for (const r of happened) if ((latest.get(r.userKey)?.at ?? -1) <= r.at) latest.set(r.userKey, r)
  return latest
}

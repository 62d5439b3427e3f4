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
 * properties the destination selected.
 */
export async function withTraits(
  d: DestinationDefinition,
  happened: DestinationRecord[],
  traitsOf: (userKey: string) => Promise<Record<string, unknown>>,
): Promise<DestinationRecord[]> {
  const props = d.records.traits?.properties
  if (!props) return []
  const latest = new Map<string, DestinationRecord>()
  for (const r of happened) if ((latest.get(r.userKey)?.at ?? -1) <= r.at) latest.set(r.userKey, r)
  const out: DestinationRecord[] = []
  for (const [userKey, last] of latest) {
    const all = await traitsOf(userKey)
    const traits = Object.fromEntries(props.map((p) => [p, all[p] ?? null]))
    out.push({ id: recordId('traits', d.id, last.id), userKey, kind: 'traits', at: last.at, data: { traits } })
  }
  return out
}

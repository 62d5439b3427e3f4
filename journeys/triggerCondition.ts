import type { Trigger } from './journeySchema.js'

/** A segment membership a run's trigger requires of its user. */
export interface SegmentCondition {
  segment: string
  member: boolean
}

/**
 * What a segment trigger requires of the user when a mail goes out: still in the segment that
 * they entered (or that a schedule sends to), still out of the one they left. An event trigger's
 * condition is the event's own properties, which never change: nothing to re-check.
 */
export function triggerCondition(t: Trigger): SegmentCondition | undefined {
  if (t.type === 'segment_entry' || t.type === 'schedule') return { segment: t.segment, member: true }
  if (t.type === 'segment_exit') return { segment: t.segment, member: false }
  return undefined
}

/**
 * False-trigger detection: every send in a range is checked against what the store knows, and
 * each mistake is classified with the evidence that proves it (the events, consent rows or
 * earlier messages). Skipped sends are what the pre-send check caught in time ("prevented").
 *
 * Classes (sends): sent_after_conversion (the run's exit event — by correlation key or user —
 * happened after the trigger and before the send; `race` when it arrived only after the send),
 * sent_after_opt_out (consent for the topic withdrawn, or the address suppressed, before the
 * send), duplicate (same user, journey and key within the window), sent_in_quiet_hours,
 * over_frequency_cap, stale_trigger (the trigger event was older than allowed when it arrived),
 * condition_false_at_send (the trigger's condition, re-evaluated when the mail went out, no longer
 * held: a segment-entry or scheduled run's user had left the segment, a segment-exit run's user
 * was back in it), test_account (a test account's run — expected, reported apart and not counted
 * in the rate). An event trigger's condition is the event's own properties, which do not change.
 */
export const FALSE_TRIGGER_CLASSES = [
  'sent_after_conversion',
  'sent_after_opt_out',
  'duplicate',
  'sent_in_quiet_hours',
  'over_frequency_cap',
  'stale_trigger',
  'condition_false_at_send',
  'test_account',
] as const
export type FalseTriggerClass = (typeof FALSE_TRIGGER_CLASSES)[number]
/** Not mistakes of Nudge's (reported, never alerted on). */
export const INFORMATIONAL: ReadonlySet<FalseTriggerClass> = new Set(['test_account'])

export interface JourneyExits {
  id: string
  correlationKey?: string
  exits: { event: string; match: 'correlation' | 'user' }[]
  /** A segment trigger: the membership that started the run must still hold at the send. */
  segment?: { id: string; member: boolean }
}

export interface DetectOptions {
  from: number
  until: number
  journeys: JourneyExits[]
  staleMs: number
  duplicateWindowMs: number
  quietHours?: { from: string; to: string }
  quietHoursTz: string
  frequencyCap?: { max: number; windowMs: number }
}

export interface Finding {
  class: FalseTriggerClass
  journeyId: string
  userKey: string
  messageId: string
  at: number
  evidence: Record<string, unknown>
}

/** The columns of a send every finding is keyed by. */
export type SendKey = { journey_id: string; user_key: string; message_id: string; sent_ms: number }

export function finding(cls: FalseTriggerClass, s: SendKey, evidence: Record<string, unknown>): Finding {
  return { class: cls, journeyId: s.journey_id, userKey: s.user_key, messageId: s.message_id, at: Number(s.sent_ms), evidence }
}

export function iso(ms: number | string): string {
  return new Date(Number(ms)).toISOString()
}

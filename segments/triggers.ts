import type { IngestEvent } from '../ingest/types.js'
import { durationMs } from './duration.js'
import { ENGAGEMENT_EVENTS, type Rule } from './ruleSchema.js'

/**
 * What can change a segment's membership: which events (so an ingested event re-evaluates only
 * the segments it can affect, for its user only), and whether time alone can (so the sweep knows
 * which segments to revisit).
 */
export interface Triggers {
  events: Set<string>
  types: Set<string>
  anyEvent: boolean
  consent: boolean
  timeDependent: boolean
  /** Relative windows (ms) in the rule: a user's membership can change by time alone only when
   * one of their relevant events crosses `now − window`. */
  windows: Set<number>
  /** Time changes it in a way events cannot bound (day-based or population-based computed
   * properties): the sweep recomputes it in full. */
  fullSweep: boolean
  segments: Set<string>
}

// Day counts change at midnight for everyone; scores change when the hourly quintiles do.
const TIME_BASED_COMPUTED = new Set(['days_inactive', 'days_since_last_order', 'r_score', 'f_score', 'm_score', 'rfm_tier'])

export function triggersOf(rule: Rule, t: Triggers = emptyTriggers()): Triggers {
  if ('and' in rule) rule.and.forEach((r) => triggersOf(r, t))
  else if ('or' in rule) rule.or.forEach((r) => triggersOf(r, t))
  else if ('not' in rule) triggersOf(rule.not, t)
  else if ('performed' in rule) {
    const l = rule.performed
    if ((l.type ?? 'track') === 'track' && l.event) t.events.add(l.event)
    else t.types.add(l.type ?? 'track')
    if (l.within) window(t, durationMs(l.within))
  } else if ('sequence' in rule) {
    for (const m of [rule.sequence.first, rule.sequence.then]) {
      if ((m.type ?? 'track') === 'track' && m.event) t.events.add(m.event)
      else t.types.add(m.type ?? 'track')
    }
    window(t, durationMs(rule.sequence.within))
    window(t, durationMs(rule.sequence.lookback ?? '30d'))
  } else if ('engagement' in rule) {
    t.events.add(ENGAGEMENT_EVENTS[rule.engagement.action])
    if (rule.engagement.within) window(t, durationMs(rule.engagement.within))
  } else if ('trait' in rule) t.types.add('identify')
  else if ('computed' in rule) {
    t.anyEvent = true
    if (TIME_BASED_COMPUTED.has(rule.computed.property)) {
      t.timeDependent = true
      t.fullSweep = true
    }
  } else if ('consent' in rule) t.consent = true
  else t.segments.add(rule.segment.id)
  return t
}

function window(t: Triggers, ms: number): void {
  t.timeDependent = true
  t.windows.add(ms)
}

export function emptyTriggers(): Triggers {
  return {
    events: new Set(),
    types: new Set(),
    anyEvent: false,
    consent: false,
    timeDependent: false,
    windows: new Set(),
    fullSweep: false,
    segments: new Set(),
  }
}

export function affectedBy(t: Triggers, e: IngestEvent): boolean {
  if (t.anyEvent) return true
  if (t.consent && e.consent.length) return true
  if (e.type === 'track') return t.events.has(e.event)
  return t.types.has(e.type)
}

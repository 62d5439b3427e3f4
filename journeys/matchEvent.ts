import { comparer, readerOf } from '../core/compareValue.js'
import { type Json, MISSING, atPath, extractBool, extractFloat, extractString } from '../core/jsonValue.js'

/**
 * Pure event matching for journeys: the trigger router and the workflow (deterministic code)
 * both use it, so a run and the router agree on what an event means. Property filters read
 * values the way the segment compiler's SQL does.
 */
export interface Filter {
  path: string
  op: string
  value?: string | number | boolean | (string | number | boolean)[]
}

/** What a run sees of an event (trigger or follow-up). */
export interface JourneyEvent {
  messageId: string
  event: string
  type: string
  userKey: string
  properties: Record<string, unknown>
  /** When it happened (client clock, skew-corrected) and when Nudge received it, ms. */
  timestamp: number
  receivedAt: number
  context?: Record<string, unknown>
}

export function matchesFilters(properties: unknown, filters: readonly Filter[] | undefined): boolean {
  if (!filters?.length) return true
  for (const f of filters) {
    const v = atPath(properties, f.path.split('.'))
    const read = readerOf({ string: () => extractString(v), float: () => extractFloat(v), bool: () => extractBool(v) })
    if (!comparer(f as never)(v !== MISSING && v !== null, read)) return false
  }
  return true
}

/** The correlation value of an event (a property path), as text; undefined when it has none. */
export function correlationOf(properties: unknown, key: string | undefined): string | undefined {
  if (!key) return undefined
  const v = atPath(properties, key.split('.')) as Json | typeof MISSING
  if (v === MISSING || v === null || typeof v === 'object') return undefined
  const text = String(v)
  return text === '' ? undefined : text
}

/** Does `e` satisfy a run's event match (name, same user or same correlation value, filters)? */
export function matchesRunEvent(
  m: { event: string; match: 'correlation' | 'user'; where?: readonly Filter[] },
  e: JourneyEvent,
  run: { userKey: string; correlationKey?: string; correlation?: string },
): boolean {
  if (e.event !== m.event) return false
  if (m.match === 'correlation') {
    if (run.correlation === undefined || correlationOf(e.properties, run.correlationKey) !== run.correlation) return false
  } else if (e.userKey !== run.userKey) return false
  return matchesFilters(e.properties, m.where)
}

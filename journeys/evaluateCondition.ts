import { comparer, readerOf } from '../core/compareValue.js'
import { type Json, MISSING, atPath, extractBool, extractFloat, extractString } from '../core/jsonValue.js'
import type { ConditionTest } from './journeySchema.js'
import type { JourneyEvent } from './matchEvent.js'

export interface UserFacts {
  traits: Record<string, unknown>
  segments: string[]
  computed: Record<string, unknown>
}

function compareAt(doc: unknown, path: string[], c: { op: string; value?: unknown }): boolean {
  const v = atPath(doc, path) as Json | typeof MISSING
  const read = readerOf({ string: () => extractString(v), float: () => extractFloat(v), bool: () => extractBool(v) })
  return comparer(c as never)(v !== MISSING && v !== null, read)
}

/** A condition split's tests, all of which must hold (pure; the facts were loaded by the activity). */
export function evaluateTests(tests: readonly ConditionTest[], facts: UserFacts, trigger: JourneyEvent): boolean {
  return tests.every((t) => {
    if ('trait' in t) return compareAt(facts.traits, [t.trait.key], t.trait)
    if ('computed' in t) return compareAt(facts.computed, [t.computed.property], t.computed)
    if ('segment' in t) return facts.segments.includes(t.segment.id) === (t.segment.member ?? true)
    const event = { name: trigger.event, event: trigger.event, properties: trigger.properties, context: trigger.context ?? {} }
    return compareAt(event, t.trigger.path.split('.'), t.trigger)
  })
}

import type { JourneyDefinition } from './journeySchema.js'

/**
 * A stored journey as today's schema reads it: before durations needed a unit (docs/migrating.md) a
 * bare number was milliseconds, so each becomes "<n>ms" — the same length of time. Used where a
 * stored definition is checked again (activating a draft or paused journey); the stored definition
 * itself is left as it is (the workflow reads a bare number as milliseconds, core/duration.ts).
 */
export function withDurationUnits(def: JourneyDefinition): JourneyDefinition {
  const text = <T>(v: T): T | string => (typeof v === 'number' ? `${v}ms` : v)
  const steps = def.steps.map((s) => {
    if (s.type === 'delay')
      return {
        ...s,
        ...(s.duration !== undefined ? { duration: text(s.duration) } : {}),
        ...(s.flag ? { flag: { ...s.flag, default: text(s.flag.default) } } : {}),
      }
    if (s.type === 'wait') return { ...s, timeout: text(s.timeout) }
    return s
  })
  const trigger = def.trigger.type === 'schedule' ? { ...def.trigger, every: text(def.trigger.every) } : def.trigger
  const entry = def.entry.cooldown !== undefined ? { ...def.entry, cooldown: text(def.entry.cooldown) } : def.entry
  return { ...def, trigger, entry, steps }
}

/**
 * The one duration grammar: a number and a unit, "250ms", "90s", "15m", "24h", "7d", "2w". Segments,
 * journeys, flags and the environment all use it (an experiment's payload sets a duration flag's
 * value, read as the flag's are; docs/migrating.md).
 *
 * API input must carry the unit: a bare number is refused (`durationIssue`, rule `unit`), because it
 * used to mean seconds in segments and milliseconds in journeys and flags. Definitions stored before
 * units were required keep their old meaning on the read path (`storedDurationMs`), so nothing already
 * acknowledged changes. Pure and dependency-free: workflow code uses it too.
 */
export const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
export type DurationUnit = keyof typeof DURATION_UNITS_MS

/** The grammar as a pattern (also shown in the OpenAPI document and used by the environment schema). */
export const DURATION_TEXT = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/

/** What every refusal says, so each kind's 400 reads the same. */
export const DURATION_HINT = 'a duration with a unit, e.g. 15m (units: ms, s, m, h, d, w)'

/** Milliseconds of a duration text, or null when `v` is not one (a bare number is not). */
export function durationTextMs(v: unknown): number | null {
  if (typeof v !== 'string') return null
  const m = DURATION_TEXT.exec(v.trim())
  return m ? Number(m[1]) * DURATION_UNITS_MS[m[2] as DurationUnit] : null
}

/**
 * Reading a definition that may predate required units: text by the grammar, or a bare number in the
 * unit its kind used then — seconds for segments, milliseconds for journeys and flags.
 */
export function storedDurationMs(v: unknown, bareUnit: 's' | 'ms'): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * DURATION_UNITS_MS[bareUnit] : null
  return durationTextMs(v)
}

/**
 * Milliseconds of a journey or flag duration as stored or in flight: text by the grammar, or (written
 * before units were required) a bare number of milliseconds. Input is checked by `durationIssue` first.
 */
export function parseDuration(v: unknown): number | null {
  return storedDurationMs(v, 'ms')
}

export type DurationIssue = { rule: 'unit' | 'format' | 'max'; message: string }
/** A kind's ceiling, with the words its refusal shows. */
export type DurationMax = { ms: number; text: string }

/** Why `v` is not acceptable as an API duration (one issue: the first rule it breaks), or null. */
export function durationIssue(v: unknown, max?: DurationMax): DurationIssue | null {
  if (typeof v === 'number') return { rule: 'unit', message: `must be ${DURATION_HINT}; a bare number is refused` }
  const ms = durationTextMs(v)
  if (ms === null) return { rule: 'format', message: `must be ${DURATION_HINT}` }
  if (max && ms > max.ms) return { rule: 'max', message: `must be at most ${max.text}` }
  return null
}

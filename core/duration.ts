/**
 * Durations as flags and journeys write them: "250ms", "90s", "15m", "1h", "3d", "2w", or a number
 * of milliseconds. Pure and dependency-free: workflow code uses it too.
 */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** Milliseconds, or null when `v` is not a duration. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null
  if (typeof v !== 'string') return null
  const m = DURATION.exec(v.trim())
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null
}

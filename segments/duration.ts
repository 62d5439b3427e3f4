import { storedDurationMs } from '../core/duration.js'

/**
 * Milliseconds of a segment rule's duration as stored: the one grammar ("15m", "24h", "7d"), or a bare
 * number of seconds — what a number meant in segments before units were required, so a stored segment
 * keeps its window. New input is refused a bare number (segments/ruleSchema.ts).
 */
export function durationMs(d: string | number): number {
  return Math.round(storedDurationMs(d, 's') ?? Number.NaN)
}

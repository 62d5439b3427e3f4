const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/** "15m" | "24h" | "7d" | "2w" | seconds → milliseconds. */
export function durationMs(d: string | number): number {
  if (typeof d === 'number') return Math.round(d * 1000)
  const unit = d.slice(-1) as keyof typeof UNIT_MS
  return Math.round(Number(d.slice(0, -1)) * UNIT_MS[unit])
}

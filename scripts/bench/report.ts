/** Number formatting and percentiles shared by the benchmark scripts. */
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** The p-quantile (0–1) of the values, nearest rank; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).sort()
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN
}

export const check = (ok: boolean) => (ok ? 'met' : 'MISSED')

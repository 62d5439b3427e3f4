import { max, median, min, quantile } from 'simple-statistics'

/**
 * Number formatting and descriptive statistics shared by the benchmark scripts. The statistics are
 * simple-statistics' (the design's choice for descriptive figures); the experiment engine's own
 * precise statistics live in analytics/stats and are not used here.
 */
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** The p-quantile (0–1) of the values; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  return values.length ? quantile(Array.from(values), p) : Number.NaN
}

/** The median, least and greatest of the values (a loop: safe for arrays too long to spread into Math.max); NaN for none. */
export const middle = (values: ArrayLike<number>) => (values.length ? median(Array.from(values)) : Number.NaN)
export const least = (values: ArrayLike<number>) => (values.length ? min(Array.from(values)) : Number.NaN)
export const greatest = (values: ArrayLike<number>) => (values.length ? max(Array.from(values)) : Number.NaN)

export const check = (ok: boolean) => (ok ? 'met' : 'MISSED')

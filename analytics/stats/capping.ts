/**
 * Percentile capping (winsorising from above) for revenue-like metrics: one whale order can move a
 * mean more than the treatment does, so per-unit values above the p-th percentile are set to it
 * before the moments go into the test. Only the upper tail is capped — negative values (refunds)
 * are left alone, as GrowthBook does (LEAST(value, cap)).
 *
 * The percentile is the type-7 sample quantile (R's default, numpy's "linear", Excel's
 * PERCENTILE.INC): h = (n − 1)·p, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]) on the sorted values. In
 * ClickHouse that is `quantileExactInclusive(p)(x)` — NOT `quantileExact(p)`, which returns
 * x[⌊n·p⌋] without interpolation, nor `quantile(p)`, which samples. simple-statistics' `quantile`
 * is a different type too, hence the few lines here.
 *
 * The cap is one number for the whole experiment (computed over all arms' units pooled, so every
 * arm is capped alike): compute it with `capThreshold` over the pooled values, then take each
 * arm's moments with `momentsAtCap`. `cappedMoments` does both for one set of values.
 */

export interface CapOptions {
  /**
   * Take the percentile over the non-zero values only. With most units spending nothing, the
   * 99th percentile over everyone can be 0 or tiny and would cap every buyer.
   */
  ignoreZeros?: boolean
}

export interface Moments {
  n: number
  sum: number
  sumSquares: number
}

function check(values: readonly number[], percentile: number): void {
  if (!(percentile > 0 && percentile <= 1)) throw new RangeError(`percentile must be in (0, 1], e.g. 0.99 (got ${percentile})`)
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`values must be finite (got ${v})`)
}

/** Type-7 quantile of already sorted values. */
function quantileSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p
  const lo = Math.floor(h)
  const a = sorted[lo] as number
  if (lo + 1 >= sorted.length) return a
  return a + (h - lo) * ((sorted[lo + 1] as number) - a)
}

/** The p-th percentile (type 7) of the values: the cap. Throws when there is nothing to take it over. */
export function capThreshold(values: readonly number[], percentile: number, options: CapOptions = {}): number {
  check(values, percentile)
  const pool = options.ignoreZeros ? values.filter((v) => v !== 0) : values
  if (pool.length === 0)
    throw new RangeError(options.ignoreZeros ? 'no non-zero values to take a percentile of' : 'no values to take a percentile of')
  return quantileSorted(Float64Array.from(pool).sort(), percentile)
}

/** The values with everything above the cap set to it (same order), and the cap. */
export function capValues(values: readonly number[], percentile: number, options: CapOptions = {}): { cap: number; values: number[] } {
  const cap = capThreshold(values, percentile, options)
  return { cap, values: values.map((v) => Math.min(v, cap)) }
}

/** n, Σy, Σy² of the values capped at a given cap (e.g. one computed over all arms). */
export function momentsAtCap(values: readonly number[], cap: number): Moments {
  let sum = 0
  let sumSquares = 0
  for (const v of values) {
    const c = Math.min(v, cap)
    sum += c
    sumSquares += c * c
  }
  return { n: values.length, sum, sumSquares }
}

/**
 * n, Σy, Σy² after capping at the values' own p-th percentile — the sufficient statistics the
 * tests take. With nothing to take the percentile over (no values, or only zeros with
 * ignoreZeros) nothing needs capping and the plain moments come back.
 */
export function cappedMoments(values: readonly number[], percentile: number, options: CapOptions = {}): Moments {
  check(values, percentile)
  const hasPool = options.ignoreZeros ? values.some((v) => v !== 0) : values.length > 0
  return momentsAtCap(values, hasPool ? capThreshold(values, percentile, options) : Infinity)
}

import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf'
import normalCdf from '@stdlib/stats-base-dists-normal-cdf'
import normalPdf from '@stdlib/stats-base-dists-normal-pdf'
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile'
import tCdf from '@stdlib/stats-base-dists-t-cdf'
import tQuantile from '@stdlib/stats-base-dists-t-quantile'

/**
 * The distribution functions the stats engine needs, to full double precision (stdlib's, as
 * GrowthBook's TS code uses): simple-statistics' normal table and probit are 4-digit
 * approximations, and it has no Student-t or χ² at all.
 */

/** Φ(x) of the standard normal (or N(mean, sd)). */
export function pnorm(x: number, mean = 0, sd = 1): number {
  return normalCdf(x, mean, sd)
}

/** Upper tail 1 − Φ(x), computed as Φ(−x) so far tails keep their precision. */
export function pnormUpper(x: number, mean = 0, sd = 1): number {
  return normalCdf(2 * mean - x, mean, sd)
}

export function dnorm(x: number, mean = 0, sd = 1): number {
  return normalPdf(x, mean, sd)
}

/** Φ⁻¹(p). */
export function qnorm(p: number, mean = 0, sd = 1): number {
  return normalQuantile(p, mean, sd)
}

/** Student-t CDF with ν degrees of freedom (ν may be fractional: Welch). */
export function pt(x: number, df: number): number {
  return tCdf(x, df)
}

/** Upper tail P(T > x), as P(T < −x) (symmetric) for precision. */
export function ptUpper(x: number, df: number): number {
  return tCdf(-x, df)
}

export function qt(p: number, df: number): number {
  return tQuantile(p, df)
}

/** P(χ²(df) > x): the survival function, for p-values. */
export function pchisqUpper(x: number, df: number): number {
  return 1 - chisquareCdf(x, df)
}

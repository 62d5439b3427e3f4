import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { adjustedInterval, adjustPValues } from '../../analytics/stats/adjust.js'
import { capThreshold, cappedMoments, capValues, momentsAtCap } from '../../analytics/stats/capping.js'
import { pnorm, qnorm } from '../../analytics/stats/distributions.js'
import { power, sequentialFactor, standardizedEffectFor, unitsForPower, type UnitsRequest } from '../../analytics/stats/power.js'
import { srm } from '../../analytics/stats/srm.js'
import {
  adjustRequest,
  adjustResponse,
  type PowerRequest,
  powerRequest,
  powerResponse,
  srmRequest,
  srmResponse,
} from '../../analytics/stats/toolsSchema.js'
import { seededRandom } from '../helpers/random.js'

/**
 * The stats tools against independent reference values (scripts/stats/reference_tools.py, numpy +
 * scipy; re-run it to regenerate test/fixtures/stats/tools.json), plus the properties the
 * definitions promise.
 */

interface Fixtures {
  srm: {
    observed: number[]
    weights: number[]
    chiSquare: number
    pValue: number
    flagged: boolean
    zeroWeightUnits: { arm: number; units: number }[]
  }[]
  adjust: { pValues: number[]; method: 'holm' | 'bh'; adjusted: number[] }[]
  adjustedInterval: {
    estimate: number
    ci: [number, number]
    adjustedPValue: number
    alpha: number
    lower: number | null
    upper: number | null
  }[]
  power: { request: PowerRequest; power: number; mde: number | null; mdeAttainable: boolean }[]
  units: { request: UnitsRequest; units: number }[]
  capping: {
    values: number[]
    percentile: number
    ignoreZeros: boolean
    cap: number
    capped: number[]
    n: number
    sum: number
    sumSquares: number
  }[]
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/stats/tools.json', import.meta.url), 'utf8')) as Fixtures

/**
 * The definitions must agree to 1e-5 (docs/stats.md); the engine and the reference compute the same
 * definitions in double precision by different routes, so anything above 1e-9 means a different
 * definition, not rounding — which is what this tolerance is for (the old n − 1 proportions, or a
 * loosely solved MDE, differ by 1e-6 and more).
 */
const TOL = 1e-9
/** Absolute below 1, relative above (χ² and sums of squares run into the thousands). */
const deviation = (got: number, want: number) => Math.abs(got - want) / Math.max(1, Math.abs(want))

/** Collects deviations so a failure names the worst case and the test can report the maximum. */
function tracker() {
  let max = 0
  let where = ''
  return {
    add(got: number | null, want: number | null, label: string) {
      if (want === null || got === null) {
        expect(got, label).toBe(want)
        return
      }
      expect(Number.isFinite(got), label).toBe(true)
      const d = deviation(got, want)
      if (d > max) [max, where] = [d, label]
    },
    check(group: string) {
      expect(max, `${group}: worst at ${where}`).toBeLessThanOrEqual(TOL)
      console.info(`${group}: max deviation ${max.toExponential(2)}`)
    },
  }
}

/** Issues as path → message, for asserting which field a rule names. */
function issues(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
  const r = schema.safeParse(input)
  expect(r.success, JSON.stringify(input)).toBe(false)
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
}

describe('fixtures (numpy/scipy reference) agree to 1e-9 (docs/stats.md asks 1e-5)', () => {
  it('has at least 10 cases per function', () => {
    for (const key of ['srm', 'adjust', 'adjustedInterval', 'power', 'capping'] as const)
      expect(fx[key].length, key).toBeGreaterThanOrEqual(10)
    expect(fx.adjust.filter((c) => c.method === 'holm').length).toBeGreaterThanOrEqual(10)
    expect(fx.adjust.filter((c) => c.method === 'bh').length).toBeGreaterThanOrEqual(10)
    expect(fx.power.filter((c) => c.request.sequential).length).toBeGreaterThanOrEqual(5)
    expect(fx.power.filter((c) => !c.mdeAttainable).length).toBeGreaterThanOrEqual(2)
  })

  it('srm', () => {
    const t = tracker()
    fx.srm.forEach((c, i) => {
      const r = srm(c.observed, c.weights)
      t.add(r.chiSquare, c.chiSquare, `srm[${i}].chiSquare`)
      t.add(r.pValue, c.pValue, `srm[${i}].pValue`)
      expect(r.flagged, `srm[${i}].flagged`).toBe(c.flagged)
      expect(
        r.warnings.map((w) => ({ arm: w.arm, units: w.units })),
        `srm[${i}].warnings`,
      ).toEqual(c.zeroWeightUnits)
      srmResponse.parse(r)
      srmRequest.parse({ observed: c.observed, weights: c.weights })
    })
    t.check('srm')
  })

  it('adjustPValues (holm, bh)', () => {
    const t = tracker()
    fx.adjust.forEach((c, i) => {
      const got = adjustPValues(c.pValues, c.method)
      expect(got).toHaveLength(c.adjusted.length)
      got.forEach((v, j) => t.add(v, c.adjusted[j] as number, `adjust[${i}] ${c.method} [${j}]`))
      adjustResponse.parse({ adjusted: got })
    })
    t.check('adjust')
  })

  it('adjustedInterval', () => {
    const t = tracker()
    fx.adjustedInterval.forEach((c, i) => {
      const got = adjustedInterval({ estimate: c.estimate, ci: c.ci, adjustedPValue: c.adjustedPValue, alpha: c.alpha })
      t.add(got.lower, c.lower, `interval[${i}].lower`)
      t.add(got.upper, c.upper, `interval[${i}].upper`)
    })
    t.check('adjustedInterval')
  })

  it('power and mde', () => {
    const t = tracker()
    fx.power.forEach((c, i) => {
      const got = power(c.request)
      t.add(got.power, c.power, `power[${i}].power`)
      t.add(got.mde, c.mde, `power[${i}].mde`)
      // MDEs to 1e-6 relative as well (some run into the units: 4.34 at 4,500 units sequential)
      if (got.mde !== null && c.mde !== null)
        expect(Math.abs(got.mde - c.mde) / c.mde, `power[${i}].mde relative`).toBeLessThanOrEqual(1e-6)
      expect(got.mdeAttainable, `power[${i}].mdeAttainable`).toBe(c.mdeAttainable)
      expect(got.mdeReason === null, `power[${i}].mdeReason`).toBe(c.mdeAttainable)
      powerResponse.parse(got)
    })
    t.check('power')
  })

  it('units for a power (bisection to 1e-10 relative)', () => {
    fx.units.forEach((c, i) => {
      const got = unitsForPower(c.request)
      expect(got, `units[${i}]`).not.toBeNull()
      expect(Math.abs((got as number) - c.units) / c.units, `units[${i}]: ${got} vs ${c.units}`).toBeLessThanOrEqual(1e-9)
    })
  })

  it('capping', () => {
    const t = tracker()
    fx.capping.forEach((c, i) => {
      const opts = { ignoreZeros: c.ignoreZeros }
      t.add(capThreshold(c.values, c.percentile, opts), c.cap, `capping[${i}].cap`)
      const capped = capValues(c.values, c.percentile, opts)
      t.add(capped.cap, c.cap, `capping[${i}].capValues.cap`)
      expect(capped.values).toHaveLength(c.capped.length)
      capped.values.forEach((v, j) => t.add(v, c.capped[j] as number, `capping[${i}].values[${j}]`))
      const m = cappedMoments(c.values, c.percentile, opts)
      expect(m.n).toBe(c.n)
      t.add(m.sum, c.sum, `capping[${i}].sum`)
      t.add(m.sumSquares, c.sumSquares, `capping[${i}].sumSquares`)
    })
    t.check('capping')
  })
})

describe('srm', () => {
  it('flags a split just past 1 point off at 100k, not one exactly 1 point off (p = 0.0016 > 0.001)', () => {
    // 50,500 vs 49,500 at 50/50: χ² = 2·500²/50,000 = 10, p = 0.00157 — above the 0.001 threshold
    // of the definition, so not flagged. The 0.1 % threshold starts to flag at ≈ 520 units off
    // per arm at this size (χ²(1) > 10.83), and at 1 point off from ≈ 108k units.
    const onePoint = srm([50_500, 49_500], [0.5, 0.5])
    expect(onePoint.chiSquare).toBeCloseTo(10, 10)
    expect(onePoint.pValue).toBeCloseTo(0.0015654, 6)
    expect(onePoint.flagged).toBe(false)
    expect(srm([50_600, 49_400], [0.5, 0.5]).flagged).toBe(true)
    expect(srm([50_530, 49_470], [0.5, 0.5]).flagged).toBe(true)
    expect(srm([101_000, 99_000], [0.5, 0.5]).flagged).toBe(true) // 1 point off at 200k
    expect(srm([50_500, 49_500], [0.5, 0.5], 0.01).flagged).toBe(true) // at a laxer threshold
  })

  it('does not flag balanced or nearly balanced splits', () => {
    expect(srm([50_000, 50_000], [0.5, 0.5])).toEqual({ chiSquare: 0, pValue: 1, flagged: false, warnings: [] })
    expect(srm([50_100, 49_900], [0.5, 0.5]).flagged).toBe(false)
    expect(srm([9_020, 980], [0.9, 0.1]).flagged).toBe(false)
    expect(srm([33_400, 33_300, 33_300], [1, 1, 1]).flagged).toBe(false)
  })

  it('a zero-weight arm is left out, units and all (issue 14: [1000, 1200, 900] at [0.5, 0.5, 0] → p = 2.0079e-5), and its units are a warning', () => {
    const r = srm([1000, 1200, 900], [0.5, 0.5, 0])
    // χ² over the two weighted arms alone: e = 1100 each, (100² + 100²)/1100 = 18.18…, df = 1
    expect(r.chiSquare).toBeCloseTo(200 / 11, 12)
    expect(Math.abs(r.pValue - 2.0079e-5)).toBeLessThanOrEqual(1e-9)
    expect(r.flagged).toBe(true)
    expect(r.warnings).toEqual([
      { code: 'units_in_zero_weight_arm', arm: 2, units: 900, message: expect.stringMatching(/weight 0.*900 units/) },
    ])
    // the same two arms without the third: the same test
    const two = srm([1000, 1200], [0.5, 0.5])
    expect(r.pValue).toBe(two.pValue)
    expect(two.warnings).toEqual([])
    // a zero-weight arm with no units: no warning; a balanced pair stays clean whatever the third got
    expect(srm([1000, 1000, 0], [1, 1, 0]).warnings).toEqual([])
    expect(srm([1000, 1000, 5000], [1, 1, 0])).toMatchObject({ pValue: 1, flagged: false, warnings: [{ arm: 2, units: 5000 }] })
  })

  it('p = 1 with fewer than two weighted arms or no units', () => {
    expect(srm([0, 0], [0.5, 0.5]).pValue).toBe(1)
    expect(srm([100], [1]).pValue).toBe(1)
    expect(srm([100, 5], [1, 0]).pValue).toBe(1)
    expect(() => srm([1, 2], [1])).toThrow(RangeError)
    expect(() => srm([-1, 2], [1, 1])).toThrow(RangeError)
  })

  it('under a correct split flags ≈ 0.1 % of draws and its p-values are calibrated', () => {
    const draws = 2000
    const n = 10_000
    for (const weights of [
      [0.5, 0.5],
      [0.5, 0.25, 0.25],
    ]) {
      const rand = seededRandom(weights.length * 7919)
      const cum = weights.map((_, i) => weights.slice(0, i + 1).reduce((a, b) => a + b, 0))
      let flagged = 0
      let below05 = 0
      for (let d = 0; d < draws; d++) {
        const observed = weights.map(() => 0)
        for (let u = 0; u < n; u++) {
          const x = rand()
          let arm = 0
          while (arm < cum.length - 1 && x >= (cum[arm] as number)) arm++
          observed[arm] = (observed[arm] as number) + 1
        }
        const r = srm(observed, weights)
        if (r.flagged) flagged++
        if (r.pValue < 0.05) below05++
      }
      expect(flagged / draws, `flag rate ${weights}`).toBeLessThanOrEqual(0.01)
      // ±4 sd around 5 %: fails if the χ² degrees of freedom or expected counts were wrong
      expect(below05 / draws, `p < 0.05 rate ${weights}`).toBeGreaterThan(0.03)
      expect(below05 / draws, `p < 0.05 rate ${weights}`).toBeLessThan(0.07)
    }
  })

  it('flags a real 2 % imbalance at n = 100k in nearly every draw', () => {
    const rand = seededRandom(42)
    let flagged = 0
    for (let d = 0; d < 200; d++) {
      let a = 0
      for (let u = 0; u < 100_000; u++) if (rand() < 0.51) a++
      if (srm([a, 100_000 - a], [0.5, 0.5]).flagged) flagged++
    }
    expect(flagged / 200).toBeGreaterThan(0.95)
  })
})

describe('adjustPValues', () => {
  it('matches worked examples', () => {
    const p = [0.01, 0.04, 0.03, 0.2]
    adjustPValues(p, 'holm').forEach((v, i) => expect(v).toBeCloseTo([0.04, 0.09, 0.09, 0.2][i] as number, 12))
    adjustPValues(p, 'bh').forEach((v, i) => expect(v).toBeCloseTo([0.04, 0.16 / 3, 0.16 / 3, 0.2][i] as number, 12))
    expect(adjustPValues([0.3], 'holm')).toEqual([0.3])
    expect(adjustPValues([0.3], 'bh')).toEqual([0.3])
    expect(adjustPValues([], 'bh')).toEqual([])
    expect(() => adjustPValues([1.5], 'holm')).toThrow(RangeError)
  })

  it('is ≥ raw, ≤ 1, monotone in the raw p, keeps input order; Holm ≥ BH', () => {
    const rand = seededRandom(2024)
    for (let t = 0; t < 300; t++) {
      const m = 1 + Math.floor(rand() * 40)
      const p = Array.from({ length: m }, () => (rand() < 0.3 ? rand() ** 6 : rand()))
      if (t % 5 === 0) for (let i = 0; i < m; i++) p[i] = Math.round((p[i] as number) * 20) / 20 // ties
      const holm = adjustPValues(p, 'holm')
      const bh = adjustPValues(p, 'bh')
      for (const adj of [holm, bh]) {
        for (let i = 0; i < m; i++) {
          expect(adj[i]).toBeGreaterThanOrEqual(p[i] as number)
          expect(adj[i]).toBeLessThanOrEqual(1)
          for (let j = 0; j < m; j++) if ((p[i] as number) <= (p[j] as number)) expect(adj[i]).toBeLessThanOrEqual(adj[j] as number)
        }
      }
      for (let i = 0; i < m; i++) expect(holm[i]).toBeGreaterThanOrEqual((bh[i] as number) - 1e-15)
      // permuting the input permutes the output the same way
      const perm = p.map((_, i) => i).sort(() => rand() - 0.5)
      const shuffled = perm.map((i) => p[i] as number)
      for (const method of ['holm', 'bh'] as const) {
        const a = adjustPValues(p, method)
        adjustPValues(shuffled, method).forEach((v, k) => expect(v).toBe(a[perm[k] as number]))
      }
    }
  })
})

describe('adjustedInterval', () => {
  it('excludes 0 exactly when the adjusted p < alpha, and never narrows', () => {
    const rand = seededRandom(99)
    for (let t = 0; t < 2000; t++) {
      const se = 0.001 + rand() * 0.05
      const estimate = (rand() - 0.5) * 8 * se
      const alpha = [0.01, 0.05, 0.1][t % 3] as number
      const p = 2 * pnorm(-Math.abs(estimate) / se)
      const adjustedPValue = Math.min(1, p * (1 + Math.floor(rand() * 20)))
      const crit = qnorm(1 - alpha / 2)
      const ci: [number, number] = [estimate - crit * se, estimate + crit * se]
      const { lower, upper } = adjustedInterval({ estimate, ci, adjustedPValue, alpha })
      const excludesZero = lower !== null && upper !== null && (lower > 0 || upper < 0)
      // away from the boundary itself, where rounding decides
      if (Math.abs(adjustedPValue - alpha) > 1e-9)
        expect(excludesZero, `p_adj ${adjustedPValue}, alpha ${alpha}`).toBe(adjustedPValue < alpha)
      if (lower !== null && upper !== null) {
        expect(lower).toBeLessThanOrEqual(ci[0])
        expect(upper).toBeGreaterThanOrEqual(ci[1])
      } else expect(adjustedPValue).toBeGreaterThan(0.999999)
    }
  })

  it('keeps the raw interval when nothing was adjusted', () => {
    const ci: [number, number] = [0.01, 0.05]
    expect(adjustedInterval({ estimate: 0.03, ci, adjustedPValue: 2 * pnorm(-0.03 / (0.02 / qnorm(0.975))) })).toEqual({
      lower: 0.01,
      upper: 0.05,
    })
    expect(adjustedInterval({ estimate: 0.03, ci, adjustedPValue: 1 })).toEqual({ lower: null, upper: null })
  })
})

describe('power', () => {
  const binomial = {
    metric: { type: 'binomial', conversionRate: 0.05 },
    totalUnits: 20_000,
    arms: 2,
    effect: 0.1,
  } as const satisfies PowerRequest
  const mean = {
    metric: { type: 'mean', mean: 12.5, standardDeviation: 40 },
    totalUnits: 10_000,
    arms: 2,
    effect: 0.05,
  } as const satisfies PowerRequest

  it('is alpha at no effect', () => {
    expect(power({ ...binomial, effect: 0 }).power).toBeCloseTo(0.05, 12)
    expect(power({ ...mean, effect: 0, alpha: 0.1 }).power).toBeCloseTo(0.1, 12)
  })

  it('rises with the units and with the size of the effect', () => {
    for (const base of [binomial, mean] as PowerRequest[]) {
      for (const sequential of [undefined, { tuning: 5000 }]) {
        let last = 0
        for (const totalUnits of [200, 1_000, 5_000, 20_000, 100_000, 500_000]) {
          const p = power({ ...base, totalUnits, sequential }).power
          expect(p).toBeGreaterThan(last)
          last = p
        }
        last = power({ ...base, effect: 0, sequential }).power
        for (const effect of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]) {
          const p = power({ ...base, effect, sequential }).power
          expect(p).toBeGreaterThan(last)
          last = p
        }
        last = power({ ...base, effect: 0, sequential }).power
        for (const effect of [-0.01, -0.05, -0.2, -0.5]) {
          const p = power({ ...base, effect, sequential }).power
          expect(p).toBeGreaterThan(last)
          last = p
        }
      }
    }
  })

  it('sequential testing costs power; more arms only thin the units (no alpha split)', () => {
    expect(power({ ...binomial, sequential: { tuning: 5000 } }).power).toBeLessThan(power(binomial).power)
    for (const n of [100, 5_000, 1e6]) expect(sequentialFactor(0.05, n, 5000)).toBeGreaterThan(1)
    const two = power({ ...binomial, totalUnits: 20_000, arms: 2 })
    const four = power({ ...binomial, totalUnits: 40_000, arms: 4 })
    expect(four.power).toBeCloseTo(two.power, 12)
    expect(four.mde).toBeCloseTo(two.mde as number, 12)
  })

  it('the mde, fed back as the effect, gives targetPower back in its own direction (1e-12): power = target + the wrong-sign tail', () => {
    const rand = seededRandom(7)
    let checked = 0
    for (let t = 0; t < 300; t++) {
      const metric =
        rand() < 0.5
          ? ({ type: 'binomial', conversionRate: 0.005 + rand() * 0.5 } as const)
          : ({ type: 'mean', mean: (rand() < 0.2 ? -1 : 1) * (0.5 + rand() * 100), standardDeviation: 0.5 + rand() * 300 } as const)
      const req: PowerRequest = {
        metric,
        totalUnits: Math.round(10 ** (2 + rand() * 4)),
        arms: 2 + Math.floor(rand() * 4),
        effect: 0.05,
        alpha: [0.01, 0.05, 0.1, 0.2][t % 4],
        targetPower: [0.3, 0.5, 0.8, 0.9, 0.99][t % 5],
        ...(t % 3 === 0 ? { sequential: { tuning: Math.round(500 + rand() * 50_000) } } : {}),
      }
      const r = power(req)
      if (r.mde === null) {
        expect(r.mdeAttainable).toBe(false)
        expect(r.mdeReason).toMatch(/units|rate/)
        continue
      }
      expect(r.mde).toBeGreaterThan(0)
      // At the MDE the near tail is exactly the target; the two-sided power adds Φ(−z − s*), a
      // significant result of the wrong sign (GrowthBook's definition of the MDE leaves it out).
      const alpha = req.alpha as number
      const s = standardizedEffectFor(req.targetPower as number, alpha)
      const farTail = pnorm(-qnorm(1 - alpha / 2) - s)
      expect(Math.abs(power({ ...req, effect: r.mde }).power - farTail - (req.targetPower as number))).toBeLessThan(1e-12)
      checked++
    }
    expect(checked).toBeGreaterThan(150)
  })

  it("GrowthBook's power scenarios to its 5 published decimals (issue 14: fixed MDE 0.24505, sequential 4.33868)", () => {
    const ctr = { type: 'binomial', conversionRate: 0.1 } as const
    const revenue = { type: 'mean', mean: 0.1, standardDeviation: Math.sqrt(0.5) } as const
    expect(power({ metric: ctr, totalUnits: 9_000, arms: 3, effect: 0.05 }).mde?.toFixed(5)).toBe('0.24505')
    expect(power({ metric: revenue, totalUnits: 4_500, arms: 3, effect: 0.3, sequential: { tuning: 5000 } }).mde?.toFixed(5)).toBe(
      '4.33868',
    )
    // s* in closed form: z(0.975) + z(0.8)
    expect(standardizedEffectFor(0.8, 0.05)).toBeCloseTo(1.959963984540054 + 0.8416212335729143, 14)
  })

  it('units for a power: the smallest sample that reaches it, consistent with power()', () => {
    const req = { metric: { type: 'binomial', conversionRate: 0.2 }, arms: 2, effect: 0.05, targetPower: 0.8 } as const
    const n = unitsForPower(req) as number
    expect(power({ ...req, totalUnits: n }).power).toBeGreaterThanOrEqual(0.8)
    expect(power({ ...req, totalUnits: n * (1 - 1e-8) }).power).toBeLessThan(0.8)
    expect(unitsForPower({ ...req, effect: 0 })).toBeNull()
  })

  it('degenerate input gives an explicit null and a flag, never NaN or Infinity', () => {
    const few = power({ metric: { type: 'mean', mean: 1, standardDeviation: 10 }, totalUnits: 100, arms: 2, effect: 1 })
    expect(few).toMatchObject({ mde: null, mdeAttainable: false })
    expect(few.mdeReason).toMatch(/add units/)
    expect(Number.isFinite(few.power)).toBe(true)
    const pastOne = power({ metric: { type: 'binomial', conversionRate: 0.9 }, totalUnits: 40, arms: 2, effect: 0.05 })
    expect(pastOne).toMatchObject({ mde: null, mdeAttainable: false })
    expect(pastOne.mdeReason).toMatch(/above 1/)
    for (const r of [few, pastOne, power({ ...mean, effect: 50 }), power({ ...binomial, totalUnits: 4 })]) {
      expect(JSON.parse(JSON.stringify(r))).toEqual(r)
      powerResponse.parse(r)
    }
  })
})

describe('capping', () => {
  it('type-7 quantile (ClickHouse quantileExactInclusive)', () => {
    const tenNumbers = Array.from({ length: 10 }, (_, i) => i)
    expect(capThreshold(tenNumbers, 0.9)).toBeCloseTo(8.1, 12)
    expect(capThreshold(tenNumbers, 0.1)).toBeCloseTo(0.9, 12)
    expect(capThreshold([4, 0, 3, 1, 2], 0.25)).toBe(1)
    expect(capThreshold([3, 1, 2], 1)).toBe(3)
    expect(capThreshold([0, 0, 0, 10, 20], 0.5, { ignoreZeros: true })).toBe(15)
  })

  it('caps only from above and keeps order', () => {
    expect(capValues([1000, -20, 5, 10], 0.5)).toEqual({ cap: 7.5, values: [7.5, -20, 5, 7.5] })
    expect(momentsAtCap([1, 2, 100], 10)).toEqual({ n: 3, sum: 13, sumSquares: 105 })
  })

  it('rejects what has no percentile; moments of nothing are zeros', () => {
    expect(() => capThreshold([], 0.99)).toThrow(RangeError)
    expect(() => capThreshold([1, 2], 0)).toThrow(RangeError)
    expect(() => capThreshold([1, 2], 99)).toThrow(RangeError)
    expect(() => capThreshold([1, Number.NaN], 0.5)).toThrow(RangeError)
    expect(cappedMoments([], 0.99)).toEqual({ n: 0, sum: 0, sumSquares: 0 })
    expect(cappedMoments([0, 0], 0.99, { ignoreZeros: true })).toEqual({ n: 2, sum: 0, sumSquares: 0 })
  })
})

describe('validation names the field and states the rule', () => {
  it('srm', () => {
    expect(issues(srmRequest, { observed: [10, 20], weights: [1] })).toEqual([
      { path: 'weights', message: 'must have one weight per arm of observed (2), got 1' },
    ])
    expect(issues(srmRequest, { observed: [10, 20], weights: [0, 0] })).toEqual([
      { path: 'weights', message: 'must include at least one positive weight' },
    ])
    expect(issues(srmRequest, { observed: [1.5, -1], weights: [1, 1] })).toEqual([
      { path: 'observed.0', message: 'must be a whole number of units' },
      { path: 'observed.1', message: 'must be at least 0' },
    ])
    expect(issues(srmRequest, { weights: [1, 1] })).toContainEqual({ path: 'observed', message: 'is required' })
    expect(issues(srmRequest, { observed: [1, 1], weights: [1, -1] })).toContainEqual({ path: 'weights.1', message: 'must be at least 0' })
  })

  it('adjust', () => {
    expect(issues(adjustRequest, { pValues: [0.2, 1.2], method: 'holm' })).toEqual([{ path: 'pValues.1', message: 'must be from 0 to 1' }])
    expect(issues(adjustRequest, { pValues: [], method: 'bh' })).toEqual([{ path: 'pValues', message: 'must list at least one p-value' }])
    expect(issues(adjustRequest, { pValues: [0.1], method: 'bonferroni' })).toEqual([{ path: 'method', message: 'must be holm or bh' }])
    expect(issues(adjustRequest, { pValues: [0.1] })).toEqual([{ path: 'method', message: 'is required' }])
  })

  it('power', () => {
    const ok = { metric: { type: 'binomial', conversionRate: 0.1 }, totalUnits: 1000, arms: 2, effect: 0.1 }
    expect(powerRequest.parse(ok)).toMatchObject({ alpha: 0.05, targetPower: 0.8 })
    expect(powerRequest.parse({ ...ok, sequential: {} }).sequential).toEqual({ tuning: 5000 })
    const cases: [unknown, string, RegExp][] = [
      [{ ...ok, metric: { type: 'mean', mean: 10 } }, 'metric.standardDeviation', /^is required$/],
      [{ ...ok, metric: { type: 'mean', mean: 10, standardDeviation: 0 } }, 'metric.standardDeviation', /greater than 0/],
      [{ ...ok, metric: { type: 'mean', mean: 0, standardDeviation: 1 } }, 'metric.mean', /must not be 0/],
      [{ ...ok, metric: { type: 'binomial' } }, 'metric.conversionRate', /^is required$/],
      [{ ...ok, metric: { type: 'binomial', conversionRate: 1 } }, 'metric.conversionRate', /strictly between 0 and 1/],
      [{ ...ok, metric: { type: 'binomial', conversionRate: 0 } }, 'metric.conversionRate', /strictly between 0 and 1/],
      [{ ...ok, metric: { type: 'ratio' } }, 'metric.type', /mean or binomial/],
      [{ ...ok, totalUnits: 3 }, 'totalUnits', /at least 2 units per arm/],
      [{ ...ok, totalUnits: 9, arms: 5 }, 'totalUnits', /at least 2 units per arm/],
      [{ ...ok, arms: 1 }, 'arms', /at least 2/],
      [{ ...ok, arms: 2.5 }, 'arms', /whole number/],
      [{ ...ok, effect: undefined }, 'effect', /^is required$/],
      [{ ...ok, effect: 10 }, 'effect', /within \[0, 1\]/],
      [{ ...ok, alpha: 0.7 }, 'alpha', /between 0 and 0.5/],
      [{ ...ok, targetPower: 0.04 }, 'targetPower', /greater than alpha/],
      [{ ...ok, targetPower: 1 }, 'targetPower', /between 0 and 1/],
      [{ ...ok, sequential: { tuning: -1 } }, 'sequential.tuning', /greater than 0/],
    ]
    for (const [input, path, message] of cases) {
      const found = issues(powerRequest, input)
      expect(
        found.some((i) => i.path === path && message.test(i.message)),
        `${JSON.stringify(input)} → ${JSON.stringify(found)}`,
      ).toBe(true)
    }
    expect(() => power({ ...ok, totalUnits: 3 } as PowerRequest)).toThrow(/at least 2 units per arm/)
  })

  it('every schema has an id and converts to JSON Schema (for the OpenAPI document)', () => {
    for (const schema of [srmRequest, srmResponse, adjustRequest, adjustResponse, powerRequest, powerResponse]) {
      expect(typeof schema.meta()?.id).toBe('string')
      expect(() => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })).not.toThrow()
    }
  })
})

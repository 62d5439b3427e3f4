import { z } from 'zod'

/**
 * Request and response schemas of the stats tools (POST /api/stats/srm, /adjust, /power): one
 * schema validates the request, types the functions and documents the route. Every rule carries
 * a message that states it, on the path of the field it is about (cross-field rules name the
 * field the user would change), so a 400 tells the caller what to fix.
 */

/** A finite number, with messages for a missing field and for anything else (zod rejects ±Infinity and NaN). */
const num = (what = 'a finite number') => z.number({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}`) })
const list = <T extends z.ZodType>(item: T) =>
  z.array(item, { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array') })
const custom = (ctx: z.RefinementCtx, path: (string | number)[], message: string, rule: string) =>
  ctx.addIssue({ code: 'custom', path, message, params: { rule } })

// ---- SRM --------------------------------------------------------------------------------------

/** Up to 100 arms: far more than any experiment has, small enough to bound the work. */
const MAX_ARMS = 100

export const srmRequest = z
  .object({
    /** Units seen in each arm. */
    observed: list(num('a whole number').int('must be a whole number of units').min(0, 'must be at least 0'))
      .min(1, 'must list at least one arm')
      .max(MAX_ARMS, `must list at most ${MAX_ARMS} arms`),
    /** The intended split, one weight per arm, in any scale (they are normalised). */
    weights: list(num().min(0, 'must be at least 0'))
      .min(1, 'must list at least one arm')
      .max(MAX_ARMS, `must list at most ${MAX_ARMS} arms`),
  })
  .superRefine((v, ctx) => {
    if (v.weights.length !== v.observed.length)
      custom(ctx, ['weights'], `must have one weight per arm of observed (${v.observed.length}), got ${v.weights.length}`, 'same_length')
    if (!v.weights.some((w) => w > 0)) custom(ctx, ['weights'], 'must include at least one positive weight', 'positive')
  })
  .meta({ id: 'SrmRequest', examples: [{ observed: [50_500, 49_500], weights: [0.5, 0.5] }] })

export const srmResponse = z
  .object({
    chiSquare: z.number(),
    pValue: z.number().min(0).max(1),
    /** p < 0.001. */
    flagged: z.boolean(),
    /**
     * Arms with weight 0 are left out of the test (units included); one that received units gets
     * a warning here instead of moving the p-value.
     */
    warnings: z.array(
      z.object({
        code: z.literal('units_in_zero_weight_arm'),
        /** Index of the arm in observed. */
        arm: z.number().int().min(0),
        units: z.number().int().min(1),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'SrmResponse' })

// ---- Multiple testing -------------------------------------------------------------------------

export const adjustRequest = z
  .object({
    pValues: list(num('a number from 0 to 1').min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1'))
      .min(1, 'must list at least one p-value')
      .max(10_000, 'must list at most 10000 p-values'),
    /** holm: family-wise error (Holm–Bonferroni); bh: false discovery rate (Benjamini–Hochberg). */
    method: z.enum(['holm', 'bh'], { error: (issue) => (issue.input === undefined ? 'is required' : 'must be holm or bh') }),
  })
  .meta({ id: 'AdjustRequest', examples: [{ pValues: [0.01, 0.04, 0.03, 0.2], method: 'holm' }] })

export const adjustResponse = z
  .object({
    /** In the order of the request's pValues. */
    adjusted: z.array(z.number().min(0).max(1)),
  })
  .meta({ id: 'AdjustResponse' })

// ---- Power / MDE ------------------------------------------------------------------------------

const meanMetric = z.object({
  type: z.literal('mean'),
  mean: num().refine((m) => m !== 0, { message: 'must not be 0 (the effect is a lift relative to it)', params: { rule: 'nonzero' } }),
  standardDeviation: num().gt(0, 'must be greater than 0'),
})

const binomialMetric = z.object({
  type: z.literal('binomial'),
  conversionRate: num('a number strictly between 0 and 1')
    .gt(0, 'must be strictly between 0 and 1')
    .lt(1, 'must be strictly between 0 and 1'),
})

export const powerMetric = z
  .discriminatedUnion('type', [meanMetric, binomialMetric], { error: 'must be mean or binomial' })
  .meta({ id: 'PowerMetric' })

export const powerRequest = z
  .object({
    /** The control arm's metric: its mean and standard deviation per unit, or its conversion rate. */
    metric: powerMetric,
    /** Units over all arms (a planning figure, so fractional values are allowed). */
    totalUnits: num().positive('must be greater than 0'),
    /** Arms including control; units split evenly. Each variant is tested against control at `alpha` (no Bonferroni). */
    arms: num('a whole number').int('must be a whole number').min(2, 'must be at least 2').max(MAX_ARMS, `must be at most ${MAX_ARMS}`),
    /** The relative lift to detect, e.g. 0.05 for +5 %. */
    effect: num(),
    alpha: num('a number between 0 and 0.5')
      .gt(0, 'must be between 0 and 0.5 (exclusive)')
      .lt(0.5, 'must be between 0 and 0.5 (exclusive)')
      .default(0.05),
    targetPower: num('a number between 0 and 1')
      .gt(0, 'must be between 0 and 1 (exclusive)')
      .lt(1, 'must be between 0 and 1 (exclusive)')
      .default(0.8),
    /** Power for an always-valid (sequential) test; tuning N* is the two-arm total you expect to decide at. */
    sequential: z
      .object({ tuning: num('a whole number').int('must be a whole number').positive('must be greater than 0').default(5000) })
      .optional(),
  })
  .superRefine((v, ctx) => {
    // Refinements run even after non-fatal issues on single fields, so check what they use.
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
    if (ok(v.totalUnits) && ok(v.arms) && v.arms >= 2 && v.totalUnits / v.arms < 2)
      custom(
        ctx,
        ['totalUnits'],
        `must give at least 2 units per arm (totalUnits / arms = ${+(v.totalUnits / v.arms).toPrecision(6)})`,
        'min_per_arm',
      )
    if (ok(v.targetPower) && ok(v.alpha) && v.targetPower <= v.alpha)
      custom(
        ctx,
        ['targetPower'],
        'must be greater than alpha (with no effect a test already rejects with probability alpha)',
        'greater_than_alpha',
      )
    if (v.metric.type === 'binomial' && ok(v.metric.conversionRate) && ok(v.effect)) {
      const treated = v.metric.conversionRate * (1 + v.effect)
      if (treated < 0 || treated > 1)
        custom(
          ctx,
          ['effect'],
          `must keep the treatment conversion rate within [0, 1] (conversionRate × (1 + effect) = ${+treated.toPrecision(6)})`,
          'rate_range',
        )
    }
  })
  .meta({
    id: 'PowerRequest',
    examples: [{ metric: { type: 'binomial', conversionRate: 0.05 }, totalUnits: 20_000, arms: 2, effect: 0.1 }],
  })

export const powerResponse = z
  .object({
    /** Probability of a significant result (two-sided, at alpha) if the true lift is `effect`. */
    power: z.number().min(0).max(1),
    /**
     * The smallest positive relative lift detected (significant, in its own direction) with probability targetPower —
     * Δ/SE = z(1−α/2) + z(targetPower), GrowthBook's definition; null when none is (see mdeReason).
     */
    mde: z.number().nullable(),
    mdeAttainable: z.boolean(),
    /** Why mde is null; null when it is not. */
    mdeReason: z.string().nullable(),
  })
  .meta({ id: 'PowerResponse' })

export type SrmRequest = z.input<typeof srmRequest>
export type SrmResponse = z.output<typeof srmResponse>
export type AdjustRequest = z.input<typeof adjustRequest>
export type AdjustResponse = z.output<typeof adjustResponse>
export type PowerMetric = z.output<typeof powerMetric>
/** What callers send: alpha, targetPower and sequential.tuning may be left out. */
export type PowerRequest = z.input<typeof powerRequest>
export type PowerResponse = z.output<typeof powerResponse>

import { z } from 'zod'

/**
 * The contract of `POST /api/stats/analyze`, as one zod schema: the route validates with it, the
 * OpenAPI document shows it, and `analyze()` takes its type. Per arm the caller sends sufficient
 * statistics only (n, Σ, Σ², Σ of products) — never per-unit rows.
 *
 * Shape errors (a missing or non-finite number, n < 2, fewer than two arms) come from the field
 * schemas; the rules that need several fields at once (what a metric type requires, a negative
 * variance or a correlation beyond ±1 implied by the sums, binomial sum ≤ n) come from the
 * request-level refinement, each issue pointing at the one field that breaks the rule.
 */

const FINITE = 'must be a finite number'
const num = (description: string) => z.number({ error: FINITE }).describe(description)
const optNum = (description: string) => num(description).optional()

export const analyzeArm = z
  .object({
    name: z.string().min(1).max(200).describe('Arm name; the first arm of the request is the control'),
    n: z
      .number({ error: FINITE })
      .int({ error: 'n must be an integer (units in the arm)' })
      .min(2, { error: 'n must be at least 2 (a variance needs two units)' })
      .describe('Units in the arm'),
    sum: num('Σy of the metric per unit (binomial: conversions; ratio: Σ of the numerator)'),
    sumSquares: optNum('Σy² (binomial: may be omitted — y ∈ {0,1} makes it equal to sum; ratio: of the numerator)'),
    denominatorSum: optNum('Ratio metrics: Σd of the denominator per unit (e.g. sends)'),
    denominatorSumSquares: optNum('Ratio metrics: Σd²'),
    sumProductDenominator: optNum('Ratio metrics: Σ y·d (numerator × denominator, per unit)'),
    covariateSum: optNum('CUPED: Σx of the pre-exposure covariate (ratio: of the pre-period numerator)'),
    covariateSumSquares: optNum('CUPED: Σx² of the covariate (ratio: of the pre-period numerator)'),
    sumProductCovariate: optNum('CUPED: Σ y·x (metric or ratio numerator × pre-period covariate/numerator)'),
    covariateDenominatorSum: optNum('Ratio + CUPED: Σe of the pre-period denominator'),
    covariateDenominatorSumSquares: optNum('Ratio + CUPED: Σe² of the pre-period denominator'),
    sumProductCovariateDenominator: optNum('Ratio + CUPED: Σ y·e (numerator × pre-period denominator)'),
    sumProductDenominatorCovariate: optNum('Ratio + CUPED: Σ d·x (denominator × pre-period numerator)'),
    sumProductDenominatorCovariateDenominator: optNum('Ratio + CUPED: Σ d·e (denominator × pre-period denominator)'),
    sumProductCovariates: optNum('Ratio + CUPED: Σ x·e (pre-period numerator × pre-period denominator)'),
  })
  .meta({ id: 'StatsAnalyzeArm' })

export const analyzeRequest = z
  .object({
    metric: z.object({
      type: z
        .enum(['binomial', 'mean', 'ratio'])
        .describe('binomial: 0/1 per unit · mean: any number per unit · ratio: Σnumerator/Σdenominator'),
      inverse: z
        .boolean()
        .default(false)
        .describe(
          'Lower is better (unsubscribes). Bayesian: flips chance to win and swaps risk; frequentist results do not change (pick `alternative` accordingly)',
        ),
    }),
    engine: z.enum(['frequentist', 'bayesian']),
    differenceType: z.enum(['relative', 'absolute']).describe('relative: (μT − μC)/|μC| · absolute: μT − μC'),
    alpha: z.number({ error: FINITE }).gt(0).lt(1).default(0.05).describe('Significance level; intervals have coverage 1 − alpha'),
    alternative: z
      .enum(['two-sided', 'greater', 'less'])
      .default('two-sided')
      .describe(
        'Frequentist only. greater: H1 treatment > control, interval [lo, null]; less: H1 treatment < control, interval [null, hi]',
      ),
    sequential: z
      .object({
        tuning: z.number({ error: FINITE }).gt(0).default(5000).describe('N*: total sample of the two arms when you expect to decide'),
      })
      .optional()
      .describe('Frequentist only: always-valid (asymptotic confidence sequence) intervals and p-values'),
    prior: z
      .object({
        mean: z.number({ error: FINITE }).default(0),
        variance: z.number({ error: FINITE }).gt(0).default(0.09),
        scale: z
          .enum(['relative', 'absolute'])
          .default('relative')
          .describe('Which effect the prior is on. relative (as gbstats): rescaled by |μC| for absolute differences'),
      })
      .optional()
      .describe('Bayesian only: proper Gaussian prior on the effect; omitted → flat prior'),
    cuped: z.boolean().default(false).describe('Regression-adjust on the pre-exposure covariate fields (CUPED)'),
    arms: z
      .array(analyzeArm)
      .min(2, { error: 'at least 2 arms are required (the first is the control)' })
      .max(50, { error: 'at most 50 arms' })
      .describe('The first arm is the control; every other arm is compared with it'),
  })
  .superRefine((req, ctx) => {
    const names = new Set<string>()
    req.arms.forEach((arm, i) => {
      if (names.has(arm.name))
        ctx.addIssue({
          code: 'custom',
          path: ['arms', i, 'name'],
          message: `arm names must be unique ("${arm.name}" repeats)`,
          params: { rule: 'unique' },
        })
      names.add(arm.name)
      for (const issue of armIssues(arm, req.metric.type, req.cuped ?? false))
        ctx.addIssue({ code: 'custom', path: ['arms', i, issue.field], message: issue.message, params: { rule: issue.rule } })
    })
    // gbstats' one-sided confidence sequence solves for alpha in (0, 0.5); beyond that it is undefined.
    if (req.sequential && (req.alternative ?? 'two-sided') !== 'two-sided' && (req.alpha ?? 0.05) >= 0.5)
      ctx.addIssue({
        code: 'custom',
        path: ['alpha'],
        message: 'alpha must be below 0.5 for a one-sided sequential test',
        params: { rule: 'max' },
      })
  })
  .meta({ id: 'StatsAnalyzeRequest' })

type Arm = z.output<typeof analyzeArm>
type Field = keyof Arm
interface ArmIssue {
  field: Field
  rule: string
  message: string
}

/** Fields each metric type needs beyond name/n/sum (CUPED adds the covariate moments). */
export function requiredFields(type: 'binomial' | 'mean' | 'ratio', cuped: boolean): Field[] {
  const base: Field[] =
    type === 'mean'
      ? ['sumSquares']
      : type === 'ratio'
        ? ['sumSquares', 'denominatorSum', 'denominatorSumSquares', 'sumProductDenominator']
        : []
  if (!cuped) return base
  const pre: Field[] = ['covariateSum', 'covariateSumSquares', 'sumProductCovariate']
  if (type !== 'ratio') return [...base, ...pre]
  return [
    ...base,
    ...pre,
    'covariateDenominatorSum',
    'covariateDenominatorSumSquares',
    'sumProductCovariateDenominator',
    'sumProductDenominatorCovariate',
    'sumProductDenominatorCovariateDenominator',
    'sumProductCovariates',
  ]
}

// Sums arrive as floating-point aggregates: allow rounding of this relative size before calling a
// variance negative or a correlation beyond ±1.
const ROUNDING = 1e-9

function armIssues(arm: Arm, type: 'binomial' | 'mean' | 'ratio', cuped: boolean): ArmIssue[] {
  const issues: ArmIssue[] = []
  const missing = requiredFields(type, cuped).filter((f) => arm[f] === undefined)
  const plain = new Set(requiredFields(type, false))
  for (const field of missing)
    issues.push({ field, rule: 'required', message: `${field} is required for ${type} metrics${plain.has(field) ? '' : ' with cuped'}` })
  if (missing.length) return issues

  if (type === 'binomial') {
    if (arm.sum < 0 || arm.sum > arm.n)
      issues.push({ field: 'sum', rule: 'range', message: `binomial sum (conversions) must be between 0 and n (${arm.n})` })
    if (arm.sumSquares !== undefined && Math.abs(arm.sumSquares - arm.sum) > ROUNDING * Math.max(1, arm.sum))
      issues.push({
        field: 'sumSquares',
        rule: 'binomial_sum_squares',
        message: 'for binomial metrics sumSquares must equal sum (y ∈ {0,1}), or be omitted',
      })
  }

  // Each (Σ, Σ²) pair must give a variance ≥ 0.
  const pairs: [Field, Field, string][] = [
    ['sum', 'sumSquares', 'metric'],
    ['denominatorSum', 'denominatorSumSquares', 'denominator'],
    ['covariateSum', 'covariateSumSquares', 'covariate'],
    ['covariateDenominatorSum', 'covariateDenominatorSumSquares', 'pre-period denominator'],
  ]
  const ss = new Map<Field, number>() // n−1 times the variance, per Σ field
  for (const [s, sq, what] of pairs) {
    const sum = arm[s] as number | undefined
    const squares = s === 'sum' && type === 'binomial' ? (arm.sumSquares ?? arm.sum) : (arm[sq] as number | undefined)
    if (sum === undefined || squares === undefined) continue
    const centered = squares - (sum * sum) / arm.n
    if (centered < -ROUNDING * Math.max(1, Math.abs(squares)))
      issues.push({
        field: sq,
        rule: 'non_negative_variance',
        message: `${sq} must be at least ${s}²/n: it implies a negative ${what} variance`,
      })
    else ss.set(s, Math.max(0, centered))
  }

  // Each Σ of products must give a correlation within ±1 (Cauchy–Schwarz).
  const products: [Field, Field, Field, string][] = [
    ['sumProductDenominator', 'sum', 'denominatorSum', 'the metric and the denominator'],
    ['sumProductCovariate', 'sum', 'covariateSum', 'the metric and the covariate'],
    ['sumProductCovariateDenominator', 'sum', 'covariateDenominatorSum', 'the metric and the pre-period denominator'],
    ['sumProductDenominatorCovariate', 'denominatorSum', 'covariateSum', 'the denominator and the covariate'],
    [
      'sumProductDenominatorCovariateDenominator',
      'denominatorSum',
      'covariateDenominatorSum',
      'the denominator and the pre-period denominator',
    ],
    ['sumProductCovariates', 'covariateSum', 'covariateDenominatorSum', 'the covariate and the pre-period denominator'],
  ]
  for (const [p, a, b, what] of products) {
    const prod = arm[p] as number | undefined
    const ssa = ss.get(a)
    const ssb = ss.get(b)
    if (prod === undefined || ssa === undefined || ssb === undefined) continue
    const cross = prod - ((arm[a] as number) * (arm[b] as number)) / arm.n
    const bound = ssa * ssb
    if (cross * cross > bound * (1 + 1e-7) + (ROUNDING * Math.max(1, Math.abs(prod))) ** 2)
      issues.push({
        field: p,
        rule: 'correlation',
        message: `${p} implies a correlation beyond ±1 between ${what} (needs (Σab − ΣaΣb/n)² ≤ (Σa² − (Σa)²/n)(Σb² − (Σb)²/n))`,
      })
  }
  return issues
}

const nullableNumber = z.number().nullable()

/** Why a comparison has no numbers (fatal) or what to keep in mind reading it (informational). */
export const COMPARISON_FLAGS = [
  'zero_variance', // the effect's variance is 0: both arms constant (fatal)
  'zero_control_mean', // relative effect (or relative prior) over a control mean of 0 (fatal)
  'zero_denominator', // a ratio's denominator sums to 0 in an arm (fatal)
  'numerical_error', // a non-finite intermediate (fatal; should not happen for valid input)
  'one_arm_zero_variance', // one arm is constant; the test runs on the other's variance (informational)
  'cuped_not_applied', // the covariate carries no variance: θ = 0 and the test is unadjusted (informational)
] as const
export type ComparisonFlag = (typeof COMPARISON_FLAGS)[number]
export const FATAL_FLAGS: ReadonlySet<ComparisonFlag> = new Set([
  'zero_variance',
  'zero_control_mean',
  'zero_denominator',
  'numerical_error',
])

export const analyzeComparison = z
  .object({
    arm: z.string().describe('The treatment arm compared with the control'),
    effect: nullableNumber.describe('Point estimate (bayesian: posterior mean) of the difference; null when flags say why'),
    ci: z.tuple([nullableNumber, nullableNumber]).describe('Interval [lo, hi]; a one-sided test leaves its open end null'),
    stdErr: nullableNumber.describe('Standard error of the effect (bayesian: posterior standard deviation)'),
    pValue: nullableNumber.optional().describe('Frequentist: p-value of H0 effect = 0 against the chosen alternative'),
    dof: nullableNumber.optional().describe('Frequentist fixed-horizon: Welch–Satterthwaite degrees of freedom'),
    chanceToWin: nullableNumber.optional().describe('Bayesian: P(treatment better than control), lower-is-better for inverse metrics'),
    risk: z
      .tuple([z.number(), z.number()])
      .nullable()
      .optional()
      .describe('Bayesian: expected loss [choosing control, choosing treatment], in effect units'),
    theta: z.number().optional().describe('CUPED: the pooled regression coefficient θ used'),
    flags: z.array(z.enum(COMPARISON_FLAGS)).describe('Degenerate-case and informational flags'),
    reason: z.string().optional().describe('Why the numbers are null, in words'),
  })
  .meta({ id: 'StatsAnalyzeComparison' })

export const analyzeResponse = z
  .object({
    arms: z.array(
      z.object({
        name: z.string(),
        n: z.number(),
        mean: nullableNumber.describe('Unadjusted mean per unit (ratio: Σnumerator/Σdenominator; null if Σdenominator = 0)'),
        stdDev: nullableNumber.describe('Per-unit standard deviation (mean: n − 1; binomial: sqrt(p(1 − p)); ratio: delta method)'),
      }),
    ),
    comparisons: z.array(analyzeComparison).describe('One per non-control arm, against the control (the first arm)'),
    warnings: z.array(z.string()).describe('Settings that had no effect (e.g. a prior with the frequentist engine)'),
  })
  .meta({ id: 'StatsAnalyzeResponse' })

export type AnalyzeRequest = z.input<typeof analyzeRequest>
export type AnalyzeArm = z.input<typeof analyzeArm>
export type AnalyzeResponse = z.output<typeof analyzeResponse>
export type AnalyzeComparison = z.output<typeof analyzeComparison>

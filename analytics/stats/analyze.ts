import type { AnalyzeArm, AnalyzeComparison, AnalyzeRequest, AnalyzeResponse, ComparisonFlag } from './analyzeSchema.js'
import { FATAL_FLAGS } from './analyzeSchema.js'
import { bayesianTest, type GaussianPrior, scalePrior } from './bayesian.js'
import {
  cupedArmStat,
  cupedRelativeVariance,
  pooledTheta,
  ratioCupedArm,
  ratioCupedArmStat,
  ratioCupedRelativeVariance,
  ratioCupedTheta,
} from './cuped.js'
import { type Alternative, frequentistTest } from './frequentist.js'
import { type ArmStat, absoluteEffect, type EffectMoments, relativeEffect, sampleMean, unitVariance } from './moments.js'
import { ratioArmStat } from './ratio.js'
import { sequentialTest } from './sequential.js'

/**
 * The stats engine's entry point: a request of per-arm sufficient statistics in, one comparison
 * per treatment arm (against the first arm, the control) out. Pure and synchronous, no I/O.
 *
 * It expects a request that passed `analyzeRequest` (the route validates first); it still never
 * answers NaN or Infinity: a degenerate comparison (constant arms, a zero control mean for a
 * relative effect, a zero denominator) comes back with null numbers, `flags` and a `reason`.
 */

type MetricType = 'binomial' | 'mean' | 'ratio'

interface Settings {
  type: MetricType
  inverse: boolean
  engine: 'frequentist' | 'bayesian'
  relative: boolean
  alpha: number
  alternative: Alternative
  sequential: { tuning: number } | null
  prior: (GaussianPrior & { scale: 'relative' | 'absolute' }) | null
  cuped: boolean
}

export function analyze(req: AnalyzeRequest): AnalyzeResponse {
  const s = settingsOf(req)
  const warnings: string[] = []
  if (s.engine === 'bayesian') {
    if (s.sequential) warnings.push('sequential applies to the frequentist engine only; ignored')
    if (s.alternative !== 'two-sided')
      warnings.push('alternative applies to the frequentist engine only; the credible interval is two-sided')
  } else if (s.prior) warnings.push('prior applies to the bayesian engine only; ignored')

  const [control, ...treatments] = req.arms
  if (!control) throw new Error('analyze: no arms (validate the request with analyzeRequest first)')
  return {
    arms: req.arms.map((arm) => armSummary(arm, s.type)),
    comparisons: treatments.map((arm) => compare(control, arm, s)),
    warnings,
  }
}

function settingsOf(req: AnalyzeRequest): Settings {
  return {
    type: req.metric.type,
    inverse: req.metric.inverse ?? false,
    engine: req.engine,
    relative: req.differenceType === 'relative',
    alpha: req.alpha ?? 0.05,
    alternative: req.alternative ?? 'two-sided',
    sequential: req.sequential ? { tuning: req.sequential.tuning ?? 5000 } : null,
    prior: req.prior ? { mean: req.prior.mean ?? 0, variance: req.prior.variance ?? 0.09, scale: req.prior.scale ?? 'relative' } : null,
    cuped: req.cuped ?? false,
  }
}

/** A field the validated request guarantees for this metric type. */
function need(arm: AnalyzeArm, field: keyof AnalyzeArm): number {
  const v = arm[field]
  if (typeof v !== 'number') throw new Error(`analyze: arm "${arm.name}" lacks ${field} (validate the request with analyzeRequest first)`)
  return v
}

const sumSquaresOf = (arm: AnalyzeArm, type: MetricType) => (type === 'binomial' ? (arm.sumSquares ?? arm.sum) : need(arm, 'sumSquares'))

function ratioAggregates(arm: AnalyzeArm) {
  return {
    n: arm.n,
    sum: arm.sum,
    sumSquares: need(arm, 'sumSquares'),
    denominatorSum: need(arm, 'denominatorSum'),
    denominatorSumSquares: need(arm, 'denominatorSumSquares'),
    sumProductDenominator: need(arm, 'sumProductDenominator'),
  }
}

function armSummary(arm: AnalyzeArm, type: MetricType): AnalyzeResponse['arms'][number] {
  if (type === 'ratio') {
    const r = ratioArmStat(ratioAggregates(arm))
    return { name: arm.name, n: arm.n, mean: r ? finiteOrNull(r.mean) : null, stdDev: r ? finiteOrNull(Math.sqrt(r.variance)) : null }
  }
  return {
    name: arm.name,
    n: arm.n,
    mean: finiteOrNull(sampleMean(arm.n, arm.sum)),
    stdDev: finiteOrNull(Math.sqrt(unitVariance(arm.n, arm.sum, sumSquaresOf(arm, type), type === 'binomial'))),
  }
}

interface Effect {
  moments: EffectMoments | null
  flags: ComparisonFlag[]
  theta?: number
}

// Module-level helpers rather than closures: `analyze` runs ~10⁵ comparisons a second.

/** Absolute or relative moments of a pair; null (flagged) for a relative effect over a zero control mean. */
function pairMoments(sa: ArmStat, sb: ArmStat, relative: boolean, flags: ComparisonFlag[]): EffectMoments | null {
  if (!relative) return absoluteEffect(sa, sb)
  if (sa.unadjustedMean === 0) {
    flags.push('zero_control_mean')
    return null
  }
  return relativeEffect(sa, sb)
}

function plainStat(arm: AnalyzeArm, type: MetricType): ArmStat {
  const mean = sampleMean(arm.n, arm.sum)
  return { n: arm.n, mean, unadjustedMean: mean, variance: unitVariance(arm.n, arm.sum, sumSquaresOf(arm, type), type === 'binomial') }
}

function cupedAggregates(arm: AnalyzeArm, type: MetricType) {
  return {
    n: arm.n,
    sum: arm.sum,
    sumSquares: sumSquaresOf(arm, type),
    covariateSum: need(arm, 'covariateSum'),
    covariateSumSquares: need(arm, 'covariateSumSquares'),
    sumProductCovariate: need(arm, 'sumProductCovariate'),
    binomial: type === 'binomial',
  }
}

function ratioCupedAggregates(arm: AnalyzeArm, r: ReturnType<typeof ratioAggregates>) {
  return {
    ...r,
    covariateSum: need(arm, 'covariateSum'),
    covariateSumSquares: need(arm, 'covariateSumSquares'),
    covariateDenominatorSum: need(arm, 'covariateDenominatorSum'),
    covariateDenominatorSumSquares: need(arm, 'covariateDenominatorSumSquares'),
    sumProductCovariate: need(arm, 'sumProductCovariate'),
    sumProductCovariateDenominator: need(arm, 'sumProductCovariateDenominator'),
    sumProductDenominatorCovariate: need(arm, 'sumProductDenominatorCovariate'),
    sumProductDenominatorCovariateDenominator: need(arm, 'sumProductDenominatorCovariateDenominator'),
    sumProductCovariates: need(arm, 'sumProductCovariates'),
  }
}

/** The effect's moments for the metric type, CUPED or not, absolute or relative. */
function effectOf(a: AnalyzeArm, b: AnalyzeArm, s: Settings): Effect {
  const flags: ComparisonFlag[] = []
  if (s.type !== 'ratio') {
    if (!s.cuped) return { moments: pairMoments(plainStat(a, s.type), plainStat(b, s.type), s.relative, flags), flags }
    const ga = cupedAggregates(a, s.type)
    const gb = cupedAggregates(b, s.type)
    const theta = pooledTheta(ga, gb)
    if (theta === 0) flags.push('cuped_not_applied')
    const sa = cupedArmStat(ga, theta)
    const sb = cupedArmStat(gb, theta)
    const moments = pairMoments(sa, sb, s.relative, flags)
    if (moments && s.relative) moments.variance = cupedRelativeVariance(sa, sb, theta)
    return { moments, flags, theta }
  }

  const ra = ratioAggregates(a)
  const rb = ratioAggregates(b)
  if (ra.denominatorSum === 0 || rb.denominatorSum === 0) return { moments: null, flags: ['zero_denominator'] }
  if (!s.cuped) return { moments: pairMoments(ratioArmStat(ra) as ArmStat, ratioArmStat(rb) as ArmStat, s.relative, flags), flags }

  const ca = ratioCupedArm(ratioCupedAggregates(a, ra))
  const cb = ratioCupedArm(ratioCupedAggregates(b, rb))
  // No pre-period ratio (its denominator sums to 0): nothing to adjust on, so the plain ratio test.
  const theta = ca && cb ? ratioCupedTheta(ca, cb) : 0
  if (!ca || !cb || theta === 0) {
    flags.push('cuped_not_applied')
    return { moments: pairMoments(ratioArmStat(ra) as ArmStat, ratioArmStat(rb) as ArmStat, s.relative, flags), flags, theta: 0 }
  }
  const sa = ratioCupedArmStat(ca, theta)
  const sb = ratioCupedArmStat(cb, theta)
  const moments = pairMoments(sa, sb, s.relative, flags)
  if (moments && s.relative) moments.variance = ratioCupedRelativeVariance(ca, cb, theta)
  return { moments, flags, theta }
}

const REASONS: Partial<Record<ComparisonFlag, string>> = {
  zero_variance: 'the effect has zero variance (both arms constant): no interval or test is possible',
  zero_control_mean: 'the control mean is 0: a relative effect (or a relative prior) is undefined',
  zero_denominator: 'a ratio denominator sums to 0 in an arm: the ratio is undefined',
  numerical_error: 'a non-finite intermediate result',
}

function hasFatal(flags: ComparisonFlag[]): boolean {
  for (const f of flags) if (FATAL_FLAGS.has(f)) return true
  return false
}

function compare(a: AnalyzeArm, b: AnalyzeArm, s: Settings): AnalyzeComparison {
  const { moments: m, flags, theta } = effectOf(a, b, s)
  if (m) {
    if (!(m.variance > 0) || (m.varA === 0 && m.varB === 0)) flags.push('zero_variance')
    else if (m.varA === 0 || m.varB === 0) flags.push('one_arm_zero_variance')
  }
  if (!m || hasFatal(flags)) return nullComparison(b.name, s, flags, theta)

  const out: AnalyzeComparison = { arm: b.name, effect: m.estimate, ci: [null, null], stdErr: Math.sqrt(m.variance), flags }
  if (theta !== undefined) out.theta = theta
  if (s.engine === 'frequentist') {
    if (s.sequential) {
      const r = sequentialTest(m, s.alpha, s.alternative, s.sequential.tuning)
      out.ci = r.ci
      out.pValue = r.pValue
    } else {
      const r = frequentistTest(m, s.alpha, s.alternative)
      out.ci = r.ci
      out.pValue = r.pValue
      out.dof = r.dof
    }
  } else {
    let prior: GaussianPrior | null = null
    if (s.prior) {
      const target = s.relative ? 'relative' : 'absolute'
      if (s.prior.scale !== target && m.controlMean === 0) {
        flags.push('zero_control_mean')
        return nullComparison(b.name, s, flags, theta)
      }
      prior = scalePrior(s.prior, s.prior.scale, target, m.controlMean)
    }
    const r = bayesianTest(m, s.alpha, prior, s.inverse)
    out.effect = r.mean
    out.ci = r.ci
    out.stdErr = r.sd
    out.chanceToWin = r.chanceToWin
    out.risk = r.risk
  }
  if (allFinite(out)) return out
  flags.push('numerical_error')
  return nullComparison(b.name, s, flags, theta)
}

function nullComparison(arm: string, s: Settings, flags: ComparisonFlag[], theta: number | undefined): AnalyzeComparison {
  const reason = flags
    .map((f) => REASONS[f])
    .filter(Boolean)
    .join('; ')
  const out: AnalyzeComparison = { arm, effect: null, ci: [null, null], stdErr: null, flags, reason }
  if (theta !== undefined) out.theta = theta
  if (s.engine === 'frequentist') {
    out.pValue = null
    if (!s.sequential) out.dof = null
  } else {
    out.chanceToWin = null
    out.risk = null
  }
  return out
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null
}

/** null/undefined or finite, for each number of the comparison (no array allocation: hot path). */
const ok = (x: number | null | undefined) => x === null || x === undefined || Number.isFinite(x)

function allFinite(c: AnalyzeComparison): boolean {
  return (
    ok(c.effect) &&
    ok(c.ci[0]) &&
    ok(c.ci[1]) &&
    ok(c.stdErr) &&
    ok(c.pValue) &&
    ok(c.dof) &&
    ok(c.chanceToWin) &&
    ok(c.theta) &&
    (!c.risk || (ok(c.risk[0]) && ok(c.risk[1])))
  )
}

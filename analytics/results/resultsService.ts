import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import { adjustPValues, adjustedInterval } from '../stats/adjust.js'
import { analyze } from '../stats/analyze.js'
import type { AnalyzeRequest, AnalyzeResponse } from '../stats/analyzeSchema.js'
import { unitVariance } from '../stats/moments.js'
import { power, unitsForPower } from '../stats/power.js'
import { srm } from '../stats/srm.js'
import type { ExperimentService } from '../../experiments/experimentService.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import { MIN_UNITS_PER_ARM, type MetricVerdict, type Warning, decide } from './decide.js'
import { type ArmStats, loadArmStats, loadDaily } from './armStats.js'

const DAY = 86_400_000
/** The relative effect the runtime estimate plans for when an experiment names none. */
export const DEFAULT_TARGET_MDE = 0.05
const MAX_DAYS_OVER_TIME = 60

/**
 * `GET /api/experiments/:key/results`: ClickHouse reduces exposures and events to per-arm
 * sufficient statistics per metric; the engine turns them into effects, intervals, p-values or
 * chance to win and risk; around them SRM, multiple-testing adjustment (goal metrics × arms),
 * warnings, a decision hint, results over time and power / MDE / remaining runtime.
 */
export class ExperimentResults {
  constructor(
    private readonly opts: { client: ClickHouseClient; experiments: ExperimentService; testUsers: string[]; now?: () => number },
  ) {}

  async results(key: string, query: { until?: number; overTime?: boolean } = {}) {
    const exp = this.opts.experiments.get(key)
    const def = exp.definition
    const now = this.opts.now?.() ?? Date.now()
    const until = Math.min(query.until ?? now, exp.stoppedAt ?? Infinity)
    const s = def.stats
    const arms = def.variants.map((v) => v.key)
    const metrics: { role: MetricVerdict['role']; metric: Metric }[] = [
      { role: 'primary', metric: def.primaryMetric },
      ...def.secondaryMetrics.map((metric) => ({ role: 'secondary' as const, metric })),
      ...def.guardrailMetrics.map((metric) => ({ role: 'guardrail' as const, metric })),
    ]
    const warnings: Warning[] = []
    const q = {
      key,
      until,
      testUsers: this.opts.testUsers,
      metrics: metrics.map((m) => m.metric),
      ...(s.cuped.enabled ? { cupedPreDays: s.cuped.preDays } : {}),
    }
    const stored = await loadArmStats(this.opts.client, q)
    // Exposures decide when it began (a start date can precede or trail the first real exposure).
    const began = stored.firstExposure ?? exp.startedAt ?? until
    const perMetric = metrics.map((m, i) => ({ ...m, stats: stored.metrics[i]!, cap: stored.caps[i] }))
    const units = arms.map((a) => stored.units.get(a) ?? 0)
    const ratio = srm(
      units,
      def.variants.map((v) => v.weight),
    )
    if (ratio.flagged)
      warnings.push({
        code: 'srm',
        message: `Sample ratio mismatch (p = ${ratio.pValue.toExponential(2)}): observed ${units.join(' / ')} for weights ${def.variants.map((v) => v.weight).join(' / ')}`,
      })
    // A zero-weight arm is outside the SRM test; units in it are their own warning (srm.ts).
    for (const w of ratio.warnings)
      warnings.push({
        code: w.code,
        message: `Arm ${arms[w.arm]} has weight 0 but received ${w.units} units: it is left out of the SRM check; check assignment`,
      })
    arms.forEach((a, i) => {
      if (units[i]! < 2) warnings.push({ code: 'missing_arm', message: `Arm ${a} has ${units[i]} units: it cannot be compared yet` })
      else if (units[i]! < MIN_UNITS_PER_ARM)
        warnings.push({
          code: 'low_sample',
          message: `Arm ${a} has ${units[i]} units (fewer than ${MIN_UNITS_PER_ARM}): intervals are wide and fragile`,
        })
    })
    if (exp.status === 'running' && !s.sequential.enabled)
      warnings.push({
        code: 'peeking',
        message:
          'Looking at fixed-horizon results while the experiment runs inflates false positives; decide at the planned sample, or enable sequential testing',
      })

    const analyzable = arms.filter((_, i) => units[i]! >= 2)
    const results = perMetric.map(({ role, metric, stats }) => {
      const req = this.request(metric, role, s, analyzable, stats)
      return { role, metric, req, result: analyzable.length >= 2 ? analyze(req) : undefined }
    })

    // Holm over goal metrics × arms (guardrails are one-sided checks on their own).
    const goal = results.flatMap((r, mi) =>
      r.role !== 'guardrail' && r.result ? r.result.comparisons.map((c, ci) => ({ mi, ci, p: c.pValue })) : [],
    )
    const withP = goal.filter((g): g is typeof g & { p: number } => typeof g.p === 'number')
    const adjusted =
      withP.length > 1
        ? adjustPValues(
            withP.map((g) => g.p),
            'holm',
          )
        : withP.map((g) => g.p)
    const adjustedOf = new Map(withP.map((g, i) => [`${g.mi}:${g.ci}`, adjusted[i]!]))

    const verdicts: MetricVerdict[] = []
    const out = results.map((r, mi) => {
      const comparisons = (r.result?.comparisons ?? []).map((c, ci) => {
        const adj = adjustedOf.get(`${mi}:${ci}`)
        const significant = typeof c.pValue === 'number' ? (adj ?? c.pValue) < s.alpha : undefined
        const up = c.effect !== null && c.effect !== undefined && c.effect > 0
        const better = significant !== undefined ? significant && up !== r.metric.inverse : (c.chanceToWin ?? 0) > 0.95
        const worse =
          significant !== undefined ? significant && up === r.metric.inverse : typeof c.chanceToWin === 'number' && c.chanceToWin < 0.05
        verdicts.push({ role: r.role, name: r.metric.name ?? r.metric.event, arm: c.arm, better: !!better, worse: !!worse })
        // The interval that matches the adjusted p-value (it excludes 0 exactly when that is below α).
        const adjustedCi =
          adj !== undefined && typeof c.effect === 'number' && c.ci && typeof c.ci[0] === 'number' && typeof c.ci[1] === 'number'
            ? adjustedInterval({ estimate: c.effect, ci: [c.ci[0], c.ci[1]], adjustedPValue: adj, alpha: s.alpha })
            : undefined
        return {
          ...c,
          ...(adj !== undefined ? { adjustedPValue: adj } : {}),
          ...(adjustedCi ? { adjustedCi: [adjustedCi.lower, adjustedCi.upper] } : {}),
          significant: !!(better || worse),
          direction: better ? 'better' : worse ? 'worse' : 'flat',
        }
      })
      return {
        role: r.role,
        metric: r.metric,
        ...(perMetric[mi]!.cap !== undefined ? { cappedAt: perMetric[mi]!.cap } : {}),
        arms: r.result?.arms ?? [],
        comparisons,
      }
    })

    const plan = this.plan(
      began,
      until,
      perMetric[0]!.metric,
      perMetric[0]!.stats.get(arms[0]!),
      units,
      s.alpha,
      s.sequential.enabled ? s.sequential.tuning : undefined,
    )
    const enoughData = units.every((n) => n >= MIN_UNITS_PER_ARM)
    const overTime =
      query.overTime === false
        ? undefined
        : (await loadDaily(this.opts.client, { ...q, metrics: [def.primaryMetric] }, began, stored.exposedByDay)).map(({ day, stats }) => {
            const present = analyzable.filter((a) => (stats.get(a)?.n ?? 0) >= 2)
            const res: AnalyzeResponse | undefined =
              present.length >= 2 && present[0] === analyzable[0]
                ? analyze(this.request(def.primaryMetric, 'primary', { ...s, cuped: { ...s.cuped, enabled: false } }, present, stats))
                : undefined
            return {
              day,
              units: Object.fromEntries(arms.map((a) => [a, stats.get(a)?.n ?? 0])),
              comparisons: res?.comparisons.map((c) => ({ arm: c.arm, effect: c.effect, ci: c.ci })) ?? [],
            }
          })
    return {
      experiment: key,
      status: exp.status,
      engine: s.engine,
      alpha: s.alpha,
      sequential: s.sequential.enabled ? { tuning: s.sequential.tuning } : null,
      cuped: s.cuped.enabled ? { preDays: s.cuped.preDays } : null,
      until: new Date(until).toISOString(),
      units: Object.fromEntries(arms.map((a, i) => [a, units[i]!])),
      srm: { ...ratio, observed: units, weights: def.variants.map((v) => v.weight) },
      metrics: out,
      power: plan,
      warnings,
      decision: decide({ verdicts, srmFlagged: ratio.flagged, enoughData, reachedSample: plan.remainingDays === 0 }),
      ...(overTime ? { overTime } : {}),
    }
  }

  private request(
    metric: Metric,
    role: MetricVerdict['role'],
    s: ReturnType<ExperimentService['get']>['definition']['stats'],
    arms: string[],
    stats: Map<string, ArmStats>,
  ): AnalyzeRequest {
    const cuped = s.cuped.enabled
    return {
      metric: { type: metric.kind === 'conversion' ? 'binomial' : 'mean', inverse: metric.inverse },
      engine: role === 'guardrail' ? 'frequentist' : s.engine,
      differenceType: 'relative',
      alpha: s.alpha,
      // A guardrail asks one thing: is the arm worse? (lower for normal metrics, higher for inverse ones)
      alternative: role === 'guardrail' ? (metric.inverse ? 'greater' : 'less') : 'two-sided',
      ...(s.sequential.enabled ? { sequential: { tuning: s.sequential.tuning } } : {}),
      ...(s.prior && s.engine === 'bayesian' ? { prior: s.prior } : {}),
      cuped,
      arms: arms.map((name) => {
        const a = stats.get(name) ?? { n: 0, sum: 0, sumSquares: 0, covariateSum: 0, covariateSumSquares: 0, sumProductCovariate: 0 }
        return {
          name,
          n: a.n,
          sum: a.sum,
          sumSquares: a.sumSquares,
          ...(cuped
            ? { covariateSum: a.covariateSum, covariateSumSquares: a.covariateSumSquares, sumProductCovariate: a.sumProductCovariate }
            : {}),
        }
      }),
    } as AnalyzeRequest
  }

  /** MDE now, and how long until the sample that detects the target effect with 80 % power. */
  private plan(
    startedAt: number,
    until: number,
    metric: Metric,
    control: ArmStats | undefined,
    units: number[],
    alpha: number,
    tuning?: number,
  ) {
    const total = units.reduce((a, b) => a + b, 0)
    const k = units.length
    if (!control || control.n < 2 || control.sum === 0)
      return { mde: null, targetEffect: DEFAULT_TARGET_MDE, neededUnits: null, remainingDays: null }
    const mean = control.sum / control.n
    const binomial = metric.kind === 'conversion'
    // The power metric carries the control's moments: a conversion rate (power.ts takes its p(1 − p)), or a
    // mean and the n − 1 standard deviation — the variance the engine uses for the metric (moments.ts).
    const variance = unitVariance(control.n, control.sum, control.sumSquares, binomial)
    const m = binomial
      ? { type: 'binomial' as const, conversionRate: Math.min(Math.max(mean, 1e-9), 1 - 1e-9) }
      : { type: 'mean' as const, mean, standardDeviation: Math.sqrt(Math.max(variance, 1e-12)) }
    const sequential = tuning ? { sequential: { tuning } } : {}
    // The MDE does not depend on the planned effect; effect 0 keeps a rate near 1 a valid request.
    const now = power({ metric: m, totalUnits: Math.max(total, 2 * k), arms: k, effect: 0, alpha, ...sequential })
    // A 5 % lift of a rate above 1/1.05 would leave [0, 1]: no sample detects it.
    const attainable = m.type === 'mean' || m.conversionRate * (1 + DEFAULT_TARGET_MDE) <= 1
    const required = attainable
      ? unitsForPower({ metric: m, arms: k, effect: DEFAULT_TARGET_MDE, alpha, targetPower: 0.8, ...sequential })
      : null
    if (required === null) return { mde: now.mde, targetEffect: DEFAULT_TARGET_MDE, neededUnits: null, remainingDays: null }
    const needed = Math.ceil(required)
    const days = startedAt ? Math.max((until - startedAt) / DAY, 1 / 24) : undefined
    const perDay = days ? total / days : undefined
    const remainingDays = total >= needed ? 0 : perDay ? Math.round(((needed - total) / perDay) * 10) / 10 : null
    return { mde: now.mde, targetEffect: DEFAULT_TARGET_MDE, neededUnits: needed, remainingDays }
  }
}

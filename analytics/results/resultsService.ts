import type { ClickHouseClient } from '@clickhouse/client'
import { analyze } from '../stats/analyze.js'
import type { AnalyzeResponse } from '../stats/analyzeSchema.js'
import { srm } from '../stats/srm.js'
import type { ExperimentService } from '../../experiments/experimentService.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import { MIN_UNITS_PER_ARM, type MetricVerdict, decide } from './decide.js'
import { loadArmStats, loadDaily } from './armStats.js'
import { type StatsSettings, analyzeRequest } from './analyzeRequest.js'
import { compareMetrics } from './compareMetrics.js'
import type { ResultsQuery } from './metricSql.js'
import { powerPlan } from './powerPlan.js'
import { sampleWarnings } from './sampleWarnings.js'

export { DEFAULT_TARGET_MDE } from './powerPlan.js'

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
    const weights = def.variants.map((v) => v.weight)
    const metrics: { role: MetricVerdict['role']; metric: Metric }[] = [
      { role: 'primary', metric: def.primaryMetric },
      ...def.secondaryMetrics.map((metric) => ({ role: 'secondary' as const, metric })),
      ...def.guardrailMetrics.map((metric) => ({ role: 'guardrail' as const, metric })),
    ]
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
    const units = arms.map((a) => stored.units.get(a) ?? 0)
    const ratio = srm(units, weights)
    const warnings = sampleWarnings({ arms, units, weights, ratio, running: exp.status === 'running', sequential: s.sequential.enabled })

    const analyzable = arms.filter((_, i) => units[i]! >= 2)
    const compared = compareMetrics(
      metrics.map(({ role, metric }, i) => {
        const req = analyzeRequest(metric, role, s, analyzable, stored.metrics[i]!)
        return { role, metric, cap: stored.caps[i], result: analyzable.length >= 2 ? analyze(req) : undefined }
      }),
      s.alpha,
    )

    const plan = powerPlan(
      began,
      until,
      def.primaryMetric,
      stored.metrics[0]!.get(arms[0]!),
      units,
      s.alpha,
      s.sequential.enabled ? s.sequential.tuning : undefined,
    )
    const enoughData = units.every((n) => n >= MIN_UNITS_PER_ARM)
    const daily = { q: { ...q, metrics: [def.primaryMetric] }, began, exposedByDay: stored.exposedByDay, s, arms, analyzable }
    const overTime = query.overTime === false ? undefined : await this.overTime(daily)
    return {
      experiment: key,
      status: exp.status,
      engine: s.engine,
      alpha: s.alpha,
      sequential: s.sequential.enabled ? { tuning: s.sequential.tuning } : null,
      cuped: s.cuped.enabled ? { preDays: s.cuped.preDays } : null,
      until: new Date(until).toISOString(),
      units: Object.fromEntries(arms.map((a, i) => [a, units[i]!])),
      srm: { ...ratio, observed: units, weights },
      metrics: compared.metrics,
      power: plan,
      warnings,
      decision: decide({ verdicts: compared.verdicts, srmFlagged: ratio.flagged, enoughData, reachedSample: plan.remainingDays === 0 }),
      ...(overTime ? { overTime } : {}),
    }
  }

  /**
   * The primary metric day by day, cumulative, without CUPED: a day shows a comparison once at
   * least two arms — the control among them — have two units.
   */
  private async overTime(d: {
    q: ResultsQuery
    began: number
    exposedByDay: { arm: string; day: string; n: number }[]
    s: StatsSettings
    arms: string[]
    analyzable: string[]
  }) {
    const { s, arms, analyzable } = d
    const primary = d.q.metrics[0]!
    const days = await loadDaily(this.opts.client, d.q, d.began, d.exposedByDay)
    return days.map(({ day, stats }) => {
      const present = analyzable.filter((a) => (stats.get(a)?.n ?? 0) >= 2)
      const res: AnalyzeResponse | undefined =
        present.length >= 2 && present[0] === analyzable[0]
          ? analyze(analyzeRequest(primary, 'primary', { ...s, cuped: { ...s.cuped, enabled: false } }, present, stats))
          : undefined
      return {
        day,
        units: Object.fromEntries(arms.map((a) => [a, stats.get(a)?.n ?? 0])),
        comparisons: res?.comparisons.map((c) => ({ arm: c.arm, effect: c.effect, ci: c.ci })) ?? [],
      }
    })
  }
}

import { unitVariance } from '../stats/moments.js'
import { power, unitsForPower } from '../stats/power.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import type { ArmStats } from './armStats.js'

const DAY = 86_400_000
/** The relative effect the runtime estimate plans for when an experiment names none. */
export const DEFAULT_TARGET_MDE = 0.05

/** MDE now, and how long until the sample that detects the target effect with 80 % power. */
export function powerPlan(
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

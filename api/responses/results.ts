import { z } from 'zod'
import { decision, resultWarning } from '../../analytics/results/decide.js'
import { analyzeComparison, analyzeResponse } from '../../analytics/stats/analyzeSchema.js'
import { srmResponse } from '../../analytics/stats/toolsSchema.js'
import { EXPERIMENT_STATUSES, metric } from '../../experiments/experimentSchema.js'

/**
 * `GET /api/experiments/:key/results`, as documented. analytics/results/resultsService.ts builds
 * it; `reply` checks at compile time that what it builds is this.
 */
const interval = z.tuple([z.number().nullable(), z.number().nullable()])

const metricResult = z.object({
  role: z.enum(['primary', 'secondary', 'guardrail']),
  metric,
  cappedAt: z.number().optional().describe('The value a unit’s metric was capped at (capPercentile)'),
  arms: analyzeResponse.shape.arms,
  comparisons: z.array(
    analyzeComparison.extend({
      adjustedPValue: z.number().optional().describe('Holm-adjusted over goal metrics × arms'),
      adjustedCi: z.array(z.number().nullable()).optional().describe('The interval matching the adjusted p-value'),
      significant: z.boolean(),
      direction: z.string().describe('better, worse or flat'),
    }),
  ),
})

export const experimentResults = z
  .object({
    experiment: z.string(),
    status: z.enum(EXPERIMENT_STATUSES),
    engine: z.enum(['frequentist', 'bayesian']),
    alpha: z.number(),
    sequential: z.object({ tuning: z.number() }).nullable(),
    cuped: z.object({ preDays: z.number() }).nullable(),
    until: z.string(),
    units: z.record(z.string(), z.number()).describe('Exposed units per arm'),
    srm: srmResponse.extend({ observed: z.array(z.number()), weights: z.array(z.number()) }),
    metrics: z.array(metricResult),
    power: z.object({
      mde: z.number().nullable(),
      targetEffect: z.number(),
      neededUnits: z.number().nullable(),
      remainingDays: z.number().nullable(),
    }),
    warnings: z.array(resultWarning),
    decision,
    overTime: z
      .array(
        z.object({
          day: z.string(),
          units: z.record(z.string(), z.number()),
          comparisons: z.array(z.object({ arm: z.string(), effect: z.number().nullable(), ci: interval })),
        }),
      )
      .optional()
      .describe('Daily cumulative results of the primary metric (overTime=true)'),
  })
  .meta({ id: 'ExperimentResults' })

import { upsertSearchAttributes } from '@temporalio/workflow'
import { local } from '../activityProxies.js'
import type { StepHandler, StepOf } from './stepHandler.js'

/**
 * An experiment split: the user's variant (its payload may override a later send's template or
 * subject) picks the branch; a variant without one goes on to `next`. A holdout ends the run.
 */
export const experimentStep: StepHandler<StepOf<'experiment'>> = {
  parks: false,
  async run(run, s, { to }) {
    const a = await local.assignVariant({
      experiment: s.experiment,
      userKey: run.input.userKey,
      context: { journey: run.journey.id, step: s.id },
    })
    if (a.variant) {
      run.state.experimentKey = s.experiment
      run.state.variant = a.variant
      run.payload = { ...run.payload, ...a.payload }
      upsertSearchAttributes({ ExperimentKey: [s.experiment], Variant: [a.variant] })
    }
    if (a.holdout) {
      run.recordStep(s, 'holdout', { reason: a.reason })
      return { stop: true, outcome: 'holdout' }
    }
    run.recordStep(s, a.variant ? 'assigned' : 'not_in_experiment', { reason: a.reason })
    return { to: a.variant && s.branches[a.variant] ? s.branches[a.variant] : to }
  },
}

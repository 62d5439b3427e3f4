import { uuid4 } from '@temporalio/workflow'
import { local } from '../activityProxies.js'
import type { StepHandler, StepOf } from './stepHandler.js'

/** Writes a trait on the user, as an identify would. */
export const updateTraitStep: StepHandler<StepOf<'update_trait'>> = {
  parks: false,
  async run(run, s, { to }) {
    const messageId = `${run.base.workflowId}:${s.id}:${uuid4()}`
    await local.updateTrait({ userKey: run.input.userKey, key: s.key, value: s.value, messageId })
    run.recordStep(s, 'updated')
    return { to }
  },
}

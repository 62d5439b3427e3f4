import { local } from '../activityProxies.js'
import type { StepHandler, StepOf } from './stepHandler.js'

/** A condition split: all of its tests hold → `then`, else `else` (each defaulting to the step after it). */
export const conditionStep: StepHandler<StepOf<'condition'>> = {
  parks: false,
  async run(run, s, { fallthrough }) {
    const holds = await local.evaluateCondition({ tests: s.when, userKey: run.input.userKey, trigger: run.input.trigger })
    run.recordStep(s, holds ? 'then' : 'else')
    return { to: holds ? (s.then ?? fallthrough) : (s.else ?? fallthrough) }
  },
}

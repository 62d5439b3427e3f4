import type { JourneyStep } from '../../../journeys/journeySchema.js'
import { conditionStep } from './condition.js'
import { delayStep } from './delay.js'
import { exitStep } from './exit.js'
import { experimentStep } from './experiment.js'
import { sendStep } from './send.js'
import type { StepHandler, StepOf, StepType } from './stepHandler.js'
import { updateTraitStep } from './updateTrait.js'
import { waitStep } from './wait.js'

/** Every step type's interpreter, one file each; a new step type in journeySchema.ts fails to compile until it has one. */
const STEPS: { [T in StepType]: StepHandler<StepOf<T>> } = {
  delay: delayStep,
  wait: waitStep,
  condition: conditionStep,
  experiment: experimentStep,
  send: sendStep,
  update_trait: updateTraitStep,
  exit: exitStep,
}

export function stepHandler(s: JourneyStep): StepHandler<JourneyStep> {
  return STEPS[s.type] as StepHandler<JourneyStep>
}

import type { StepHandler, StepOf } from './stepHandler.js'

/** Ends the run here, `exited`. */
export const exitStep: StepHandler<StepOf<'exit'>> = {
  parks: false,
  async run(run, s) {
    run.recordStep(s, 'exit')
    return { stop: true, outcome: 'exited' }
  },
}

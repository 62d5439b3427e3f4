import type { JourneyStep } from '../../../journeys/journeySchema.js'
import type { JourneyRun } from '../journeyRun.js'

export type StepType = JourneyStep['type']
export type StepOf<T extends StepType> = Extract<JourneyStep, { type: T }>

/** Where a step goes by default: its `next` (or the step after it), and the step after it. */
export interface Route {
  to: string | undefined
  fallthrough: string | undefined
}

/** A step's result: the step to go on to (none: the run is done), or stop here (exit, holdout, an exit signal). */
export type StepResult = { to: string | undefined } | { stop: true; outcome?: string }

export const STOP: StepResult = { stop: true }

/** One step type's interpreter (workflow code: deterministic; the world is reached through activities). */
export interface StepHandler<S extends JourneyStep> {
  /** A run can sit at this step for a while: the `JourneyStep` search attribute shows it (instant steps would cost a visibility write each). */
  parks: boolean
  run(run: JourneyRun, step: S, route: Route): Promise<StepResult>
}

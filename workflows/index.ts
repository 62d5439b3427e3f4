// Every workflow the worker runs; the bundler starts from this file.
export { healthcheckWorkflow, noopWorkflow } from './healthcheck.workflow.js'
export { flaggedDelayWorkflow } from './flaggedDelay.js'
export { journeyWorkflow } from './journey.workflow.js'
export { journeyScheduleWorkflow } from './journeySchedule.workflow.js'

// The bundle entry: every workflow the worker runs; the bundler starts from this file.
//
// The folders say what runs where:
//   *.workflow.ts, journey/   workflow code — deterministic, runs in the Temporal sandbox (no I/O)
//   activities/               where runs meet the world (store, flags, mail): plain Node code
//   client/                   starting, signalling and finding runs and schedules (Temporal client)
//   worker/                   the worker: bundling the workflow code, registering activities, search attributes
export { healthcheckWorkflow, noopWorkflow } from './healthcheck.workflow.js'
export { flaggedDelayWorkflow } from './journey/flaggedDelay.workflow.js'
export { journeyWorkflow } from './journey/journey.workflow.js'
export { journeyScheduleWorkflow } from './journey/journeySchedule.workflow.js'
export { destinationBatchWorkflow } from './destinations/destinationBatch.workflow.js'

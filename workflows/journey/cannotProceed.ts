import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow'
import { cutUtf8 } from '../../core/textBounds.js'
import type { JourneyRun } from './journeyRun.js'

/** How much of a failure's message the run's step record keeps. */
const FAILURE_MESSAGE_BYTES = 1000

/**
 * An activity failed for good — bad input (non-retryable at once) or still failing after its
 * bounded retries. The run cannot proceed: it ends here, visibly, and fails. Failed rather than
 * completed: a run that could not do its job shows as failed in Temporal (its list, metrics and
 * alerts), with the reason in `EndReason`, the run's outcome (`journey_runs`) and a `failed` step
 * (`journey_steps`, in the false-trigger report). Non-retryable: never run again on the same value.
 */
export async function cannotProceed(run: JourneyRun, err: unknown): Promise<never> {
  // A local activity's failure reaches the workflow as itself (an activity's, wrapped in an
  // ActivityFailure); anything else (cancellation, continue-as-new) is not ours to handle.
  const cause =
    err instanceof ActivityFailure
      ? (err.cause ?? err)
      : err instanceof ApplicationFailure || err instanceof TimeoutFailure
        ? err
        : undefined
  if (!cause) throw err
  const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause instanceof TimeoutFailure ? 'Timeout' : cause.name
  const message = cutUtf8(cause.message || type, FAILURE_MESSAGE_BYTES)
  const current = run.current
  run.outcome = `failed:${current.type}:${type}`
  run.end(run.outcome)
  run.recordStep(current, 'failed', { reason: message })
  if (!run.endRecorded) run.recordPhase('ended', Date.now())
  // Best effort: the store may be what failed; the search attribute and the failure still tell.
  await run.flush().catch(() => undefined)
  throw ApplicationFailure.create({
    type: 'RunCannotProceed',
    message: `journey ${run.journey.id} run stopped at step ${current.id}: ${run.outcome}: ${message}`,
    nonRetryable: true,
    cause,
  })
}

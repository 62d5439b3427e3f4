import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow'
import type { DestinationActivities } from '../activities/destinationActivities.js'
import { PERMANENT_ERROR_TYPES } from '../retryPolicies.js'

export interface DestinationBatchInput {
  destinationId: string
  /** First retry interval, ms (doubling up to `maxRetryIntervalMs`); tests shorten it. */
  retryInitialMs?: number
  maxRetryIntervalMs?: number
  /** Batches one run delivers before it ends (the dispatcher starts the next run). */
  maxBatches?: number
}

export interface DestinationBatchResult {
  batches: number
  delivered: number
  deadLettered: number
}

/** Outbox reads and the dead-letter move: small store work, retried like the journeys' steps. */
const store = proxyActivities<DestinationActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
  },
})

/**
 * Delivers a destination's outbox, one batch after another, one run per destination at a time
 * (the workflow id is the destination's), so its records leave in order. A batch's send is an
 * activity retried with exponential backoff — or after the server's Retry-After — a bounded number
 * of times (the destination's `maxAttempts`); then its undelivered records go to the dead-letter
 * list and the run moves on. Never an endless loop: attempts and batches per run are bounded.
 */
export async function destinationBatchWorkflow(input: DestinationBatchInput): Promise<DestinationBatchResult> {
  const out: DestinationBatchResult = { batches: 0, delivered: 0, deadLettered: 0 }
  for (let i = 0; i < (input.maxBatches ?? 20); i++) {
    const batch = await store.nextDestinationBatch({ destinationId: input.destinationId })
    if (!batch.recordIds.length) break
    out.batches++
    const { sendDestinationBatch } = proxyActivities<DestinationActivities>({
      // Rate-limited sends of a whole batch: minutes at worst, never unbounded.
      startToCloseTimeout: '10 minutes',
      retry: {
        initialInterval: input.retryInitialMs ?? 1000,
        backoffCoefficient: 2,
        maximumInterval: input.maxRetryIntervalMs ?? 5 * 60_000,
        maximumAttempts: batch.maxAttempts,
        nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
      },
    })
    const ref = { destinationId: input.destinationId, recordIds: batch.recordIds }
    try {
      const sent = await sendDestinationBatch(ref)
      out.delivered += sent.delivered
      out.deadLettered += sent.dead
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err
      out.deadLettered += await store.deadLetterDestinationBatch({ ...ref, reason: reasonOf(err) })
    }
  }
  return out
}

function reasonOf(err: ActivityFailure): string {
  const cause = err.cause
  const message = cause instanceof ApplicationFailure ? cause.message : (cause?.message ?? err.message)
  return `gave up after the last attempt: ${message}`.slice(0, 1000)
}

import { ApplicationFailure } from '@temporalio/activity'
import type { Deliverer } from '../../destinations/deliverer.js'

export interface DestinationBatchRef {
  destinationId: string
  recordIds: string[]
}

/** Where destination batches meet the world: the outbox and the destination's API (destinations/deliverer.ts). */
export interface DestinationActivities {
  nextDestinationBatch(input: { destinationId: string }): Promise<{ recordIds: string[]; maxAttempts: number }>
  sendDestinationBatch(input: DestinationBatchRef): Promise<{ delivered: number; dead: number; withheld: number }>
  deadLetterDestinationBatch(input: DestinationBatchRef & { reason: string }): Promise<number>
}

/** The failure type of a batch that stopped at a retryable answer (the workflow's retry policy retries it). */
export const DESTINATION_RETRY = 'DestinationRetry'

export function createDestinationActivities(deliverer: Deliverer): DestinationActivities {
  return {
    nextDestinationBatch: ({ destinationId }) => deliverer.nextBatch(destinationId),
    async sendDestinationBatch({ destinationId, recordIds }) {
      const out = await deliverer.send(destinationId, recordIds)
      if (!out.retry) return { delivered: out.delivered, dead: out.dead, withheld: out.withheld }
      // What was delivered is recorded; the attempt fails so Temporal retries the rest with backoff —
      // after the server's Retry-After when it gave one, instead of the policy's next interval.
      throw ApplicationFailure.create({
        type: DESTINATION_RETRY,
        message: `${out.retry.code}: ${out.retry.reason}`,
        details: [{ code: out.retry.code, delivered: out.delivered }],
        ...(out.retry.retryAfterMs !== undefined ? { nextRetryDelay: Math.max(1, out.retry.retryAfterMs) } : {}),
      })
    },
    deadLetterDestinationBatch: ({ destinationId, recordIds, reason }) => deliverer.deadLetter(destinationId, recordIds, reason),
  }
}

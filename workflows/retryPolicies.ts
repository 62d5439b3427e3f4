import type { RetryPolicy } from '@temporalio/workflow'

/**
 * Failure types no retry can fix: an activity that fails on bad input fails the same way on every
 * attempt. Activities throw them as non-retryable failures (workflows/activities/permanentFailures.ts
 * maps Nudge's input errors, core/errors.ts, where activities are registered); every retry policy
 * names them too, so a failure of such a type is never retried whoever raised it.
 */
export const PERMANENT_ERROR_TYPES = [
  'ValidationError',
  'InvalidJsonError',
  'PayloadTooLargeError',
  'UnsupportedEncodingError',
  'UnsupportedCharsetError',
] as const

/**
 * The retry policy of every activity. Each has a bounded attempt count: an activity that keeps
 * failing ends its run with a visible reason (the `EndReason` search attribute, the run's
 * `failed:…` outcome) rather than spinning, and a worker told to stop is never held by a retry loop.
 * The bounds are sized to ride out what is transient here — a busy store, an SMTP server
 * restarting, a deploy — and no longer.
 */
export const RETRY_POLICIES = {
  /**
   * Step activities (resolveDelay, evaluateCondition, assignVariant, updateTrait, record): reads and
   * small writes against the in-process store and services. 20 attempts, backing off to 30 s:
   * about 6½ minutes of trying.
   */
  step: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
  },
  /**
   * The send. Retrying is safe (the ledger keeps it once; the transport collapses a repeat by
   * Message-ID), and a mail server can be away for a while, so it tries longest: 50 attempts,
   * backing off to 2 minutes — about an hour and a half — then the run ends `failed:send:…`
   * rather than waiting on a mail server that is gone.
   */
  send: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 50,
    nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
  },
  /** A schedule's fan-out (idempotent per slot; the next slot comes anyway): 10 attempts, up to a minute apart. */
  fanOut: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
  },
  /** The readiness check's round trip: it reports, it does not insist. */
  healthcheck: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...PERMANENT_ERROR_TYPES],
  },
} satisfies Record<string, RetryPolicy>

import { ApplicationFailure } from '@temporalio/activity'
import { NudgeError } from '../../core/errors.js'

/**
 * Statuses of Nudge's errors about the input itself (core/errors.ts): invalid, too large, an
 * encoding not taken. The same input fails the same way on every attempt.
 */
const PERMANENT_STATUSES = new Set([400, 413, 415, 422])

export function isPermanent(err: unknown): err is NudgeError {
  return err instanceof NudgeError && PERMANENT_STATUSES.has(err.status)
}

/**
 * Every activity as registered with the worker: an input error it throws becomes a
 * non-retryable `ApplicationFailure` of the error's type (ValidationError, …) carrying its code and
 * field issues, so the run stops retrying at once and ends with that reason. One mechanism for all
 * activities, present and future, instead of a try/catch in each. Other errors pass through
 * unchanged (retried under the activity's bounded policy, workflows/retryPolicies.ts).
 */
export function failPermanentlyOnBadInput<T extends object>(activities: T): T {
  const out: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries(activities)) {
    if (typeof fn !== 'function') {
      out[name] = fn
      continue
    }
    out[name] = async (...args: unknown[]) => {
      try {
        return await fn.apply(activities, args)
      } catch (err) {
        if (!isPermanent(err)) throw err
        throw ApplicationFailure.create({
          message: err.message,
          type: err.name,
          nonRetryable: true,
          details: [{ code: err.code, issues: err.issues }],
          cause: err,
        })
      }
    }
  }
  return out as T
}

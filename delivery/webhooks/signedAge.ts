/** How far ahead of this clock a signer's clock may be (SNS, SendGrid): a few minutes of skew. */
const FUTURE_SKEW_MS = 5 * 60_000

/**
 * A signed webhook's own time is within its accepted age: not older than `maxAgeMs`
 * (WEBHOOK_MAX_AGE: a replay of a captured request is refused), not from the future beyond skew.
 */
export function withinSignedAge(at: number, now: number, maxAgeMs: number): boolean {
  return now - at <= maxAgeMs && at - now <= FUTURE_SKEW_MS
}

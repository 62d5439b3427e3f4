/**
 * A token bucket per destination: at most `perSecond` requests a second on average, bursts of up to
 * one second's worth. It limits this process; the workflow id (one batch per destination at a
 * time) keeps the whole deployment to one sending process per destination.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Resolves when a request to `key` may go out. */
  async take(key: string, perSecond: number): Promise<void> {
    for (;;) {
      const now = this.now()
      const b = this.buckets.get(key) ?? { tokens: Math.max(1, perSecond), at: now }
      b.tokens = Math.min(Math.max(1, perSecond), b.tokens + ((now - b.at) / 1000) * perSecond)
      b.at = now
      this.buckets.set(key, b)
      if (b.tokens >= 1) {
        b.tokens -= 1
        return
      }
      await this.sleep(Math.ceil(((1 - b.tokens) / perSecond) * 1000))
    }
  }
}

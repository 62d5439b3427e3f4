import type { MembershipStore, Transition } from './membershipStore.js'

/**
 * Records transitions decided in memory, in group commits: one insert carries everything decided
 * while the previous insert ran. Listeners hear of a transition only once it is stored, so a
 * journey never starts from a change the store does not have. A failed insert is retried (with
 * back-off) until it succeeds: the decision has been made and must not be lost.
 */
export class TransitionLog {
  private pending: Transition[] = []
  private flushing: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly store: MembershipStore,
    private readonly onRecorded: (t: Transition[]) => void,
    private readonly log?: (msg: string, extra?: Record<string, unknown>) => void,
  ) {}

  add(transitions: Transition[]): void {
    if (!transitions.length) return
    this.pending.push(...transitions)
    if (!this.flushing) this.flushing = this.run()
  }

  /** Resolves once everything added so far is stored and announced. */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing
  }

  async close(): Promise<void> {
    await this.settled()
    this.closed = true
  }

  private async run(): Promise<void> {
    // Let the current tick's decisions join this insert.
    await new Promise((r) => setImmediate(r))
    let delay = 100
    while (this.pending.length) {
      const batch = this.pending
      this.pending = []
      for (;;) {
        try {
          await this.store.record(batch)
          break
        } catch (err) {
          if (this.closed) throw err
          this.log?.('recording segment transitions failed; retrying', { err: String(err), transitions: batch.length })
          await new Promise((r) => setTimeout(r, delay))
          delay = Math.min(delay * 2, 5_000)
        }
      }
      this.onRecorded(batch)
    }
    this.flushing = null
  }
}

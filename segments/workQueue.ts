/**
 * All segment work runs one at a time, in arrival order: evaluations never race each other's diffs.
 * It also knows how far behind it runs — when the oldest work not yet finished was queued — so a
 * stall (a slow statement on the segment connection, a long recompute) shows while it lasts.
 */
export class WorkQueue {
  private running: Promise<void> = Promise.resolve()
  /** When each unfinished piece of work was queued, oldest first (work finishes in this order). */
  private readonly queuedAt: number[] = []
  private head = 0

  constructor(
    private readonly log?: (msg: string, extra?: Record<string, unknown>) => void,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue<T>(work: () => Promise<T>): Promise<T> {
    this.queuedAt.push(this.now())
    const result = this.running.then(work)
    this.running = result.then(
      () => this.finished(),
      (err) => {
        this.finished()
        this.log?.('segment work failed', { err: String(err) })
      },
    )
    return result
  }

  /** Settles when everything queued so far has run (compare with a later `tail` to see if more came). */
  get tail(): Promise<void> {
    return this.running
  }

  /** How long the oldest unfinished work has waited or run: 0 when the queue is empty. */
  get lagMs(): number {
    return this.head < this.queuedAt.length ? Math.max(0, this.now() - this.queuedAt[this.head]!) : 0
  }

  /** Pieces of work queued or running. */
  get depth(): number {
    return this.queuedAt.length - this.head
  }

  private finished(): void {
    this.head++
    if (this.head === this.queuedAt.length) {
      this.queuedAt.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queuedAt.length) {
      // Compact now and then rather than shifting on every finish.
      this.queuedAt.splice(0, this.head)
      this.head = 0
    }
  }
}

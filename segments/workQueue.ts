/** All segment work runs one at a time, in arrival order: evaluations never race each other's diffs. */
export class WorkQueue {
  private running: Promise<void> = Promise.resolve()

  constructor(private readonly log?: (msg: string, extra?: Record<string, unknown>) => void) {}

  enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.running.then(work)
    this.running = result.then(
      () => undefined,
      (err) => this.log?.('segment work failed', { err: String(err) }),
    )
    return result
  }

  /** Settles when everything queued so far has run (compare with a later `tail` to see if more came). */
  get tail(): Promise<void> {
    return this.running
  }
}

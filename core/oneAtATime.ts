/**
 * Runs tasks one after another, in the order they were handed in; a task that fails does not stop
 * the ones after it. Used where work must not interleave: a definition store's loads and saves (a
 * poll must not undo a save), and the template renders of concurrent sends: a render is CPU work on this thread that yields between tags, and the sandbox's
 * render limit is wall time (content/liquidEngine.ts). Renders started together interleave, so each
 * one's wall time becomes the whole burst's and 500 reminders due at once all fail the limit (and
 * are retried, and fail again). One at a time, a render's wall time is its own, and the burst takes
 * no longer: the thread does the same work either way.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task)
    this.tail = result.catch(() => undefined)
    return result
  }
}

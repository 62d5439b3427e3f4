import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client'
import type { Feeder } from '../../destinations/feeder.js'
import type { Outbox } from '../../destinations/outbox.js'
import type { DestinationBatchInput } from './destinationBatch.workflow.js'

export interface DispatcherDeps {
  client: Client
  taskQueue: string
  feeder: Feeder
  outbox: Outbox
  /** Destinations that may be delivered to now (enabled, a sender for their kind). */
  deliverable: (id: string) => boolean
  /** Whether any destination is defined: with none, a tick reads nothing (the store is left to ingest). */
  any: () => boolean
  retryInitialMs: number
  onLag?: (destinationId: string, lagMs: number) => void
  log?: (msg: string, extra?: Record<string, unknown>) => void
  now?: () => number
}

export const destinationWorkflowId = (destinationId: string) => `nudge-destination-${destinationId}`

/**
 * The loop that keeps destinations moving: feed the outbox from the sources, then make sure every
 * destination with pending records has its batch run going. A run already going is left alone
 * (its id is the destination's): one sender per destination, records in order.
 */
export class Dispatcher {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(private readonly d: DispatcherDeps) {}

  async tick(): Promise<void> {
    if (!this.d.any()) return
    await this.d.feeder.poll()
    const now = (this.d.now ?? Date.now)()
    for (const [id, p] of await this.d.outbox.pending()) {
      this.d.onLag?.(id, now - p.oldestAt)
      if (!this.d.deliverable(id)) continue
      await this.start(id)
    }
  }

  async start(destinationId: string): Promise<void> {
    const input: DestinationBatchInput = { destinationId, retryInitialMs: this.d.retryInitialMs }
    try {
      await this.d.client.workflow.start('destinationBatchWorkflow', {
        workflowId: destinationWorkflowId(destinationId),
        taskQueue: this.d.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      })
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err
    }
  }

  /** Ticks every `intervalMs`, one at a time; a failed tick is logged and the next one tries again. */
  follow(intervalMs: number): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      if (this.running) return
      this.running = this.tick()
        .catch((err) => this.d.log?.('destinations dispatch failed', { err: String(err) }))
        .finally(() => (this.running = undefined))
    }, intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }
}

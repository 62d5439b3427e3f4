import type { ClickHouseClient } from '@clickhouse/client'
import type { DestinationDefinition } from './destinationSchema.js'
import { Outbox, type OutboxRow } from './outbox.js'
import { RateLimiter } from './rateLimiter.js'
import { type SenderContext, senderFor } from './senders/senderFor.js'
import type { SendResult } from './senders/httpCall.js'

export type RetryResult = Extract<SendResult, { status: 'retry' }>

/**
 * How long one `send` keeps sending: well inside the batch activity's 10-minute start-to-close
 * timeout (workflows/destinations/destinationBatch.workflow.ts), leaving room for one last request
 * (at most 2 minutes) and the settle. A slow rate limit on a large batch would otherwise outlast it.
 */
export const SEND_BUDGET_MS = 5 * 60_000

export interface BatchOutcome {
  delivered: number
  dead: number
  withheld: number
  /** Set when the batch stopped at a failure worth retrying: the rest of it is still pending. */
  retry?: RetryResult
}

export interface DelivererDeps {
  client: ClickHouseClient
  destination: (id: string) => DestinationDefinition | undefined
  mayLeave: (userKey: string, d: DestinationDefinition) => boolean
  /** Whether the user was erased (meanwhile): their rows are not written back. */
  erased?: (userKey: string) => boolean
  limiter?: RateLimiter
  /** What the senders need of the process (Kafka's producers). */
  senders?: SenderContext
  onDelivered?: (destinationId: string, n: number, lagMs: number[]) => void
  onDead?: (destinationId: string, n: number) => void
  onRetry?: (destinationId: string) => void
  onWithheld?: (destinationId: string, n: number) => void
  now?: () => number
}

/**
 * Sends a destination's pending records in order (by `seq`: event time). It stops at the first
 * failure worth retrying, so a user's later record never overtakes an earlier one; a record the
 * destination refuses for good goes to the dead-letter list and the batch goes on. Consent is
 * checked again here: a withdrawal after a record was enqueued still keeps it in Nudge.
 */
export class Deliverer {
  readonly outbox: Outbox
  private readonly limiter: RateLimiter
  private readonly now: () => number

  constructor(private readonly d: DelivererDeps) {
    this.outbox = new Outbox(d.client, d.now)
    this.limiter = d.limiter ?? new RateLimiter()
    this.now = d.now ?? Date.now
  }

  /** The next batch's record ids (empty: nothing pending, or the destination is gone, disabled or cannot be sent to). */
  async nextBatch(destinationId: string): Promise<{ recordIds: string[]; maxAttempts: number }> {
    const dest = this.d.destination(destinationId)
    if (!dest || !dest.enabled || !senderFor(dest, this.d.senders)) return { recordIds: [], maxAttempts: 1 }
    const rows = await this.outbox.inState(destinationId, 'pending', dest.batchSize)
    return { recordIds: rows.map((r) => r.record.id), maxAttempts: dest.maxAttempts }
  }

  async send(destinationId: string, recordIds: string[]): Promise<BatchOutcome> {
    const dest = this.d.destination(destinationId)
    const sender = dest && senderFor(dest, this.d.senders)
    if (!dest || !sender || !dest.enabled) return { delivered: 0, dead: 0, withheld: 0 }
    const rows = await this.outbox.inState(destinationId, 'pending', recordIds.length, recordIds)
    const done = { delivered: [] as OutboxRow[], dead: [] as [OutboxRow, string][], withheld: [] as OutboxRow[] }
    let retry: RetryResult | undefined
    const started = this.now()
    let i = 0
    for (; i < rows.length; i++) {
      // Past the budget, the batch ends here: what was sent is settled and the rest stays pending for
      // the next batch. Running into the activity's timeout instead would settle nothing: the whole
      // batch sent again on every attempt, then dead-lettered though delivered.
      if (i > 0 && this.now() - started > SEND_BUDGET_MS) break
      const row = rows[i]!
      if (!this.d.mayLeave(row.record.userKey, dest)) {
        done.withheld.push(row)
        continue
      }
      await this.limiter.take(destinationId, dest.rateLimitPerSecond)
      const res = await sender.send(row.record)
      if (res.status === 'ok') done.delivered.push(row)
      else if (res.status === 'permanent') done.dead.push([row, res.reason])
      else {
        retry = res
        break
      }
    }
    await this.settle(destinationId, done, retry ? { rest: rows.slice(i), retry } : undefined)
    return { delivered: done.delivered.length, dead: done.dead.length, withheld: done.withheld.length, ...(retry ? { retry } : {}) }
  }

  /** The batch's records still pending after its last attempt: to the dead-letter list, with why. */
  async deadLetter(destinationId: string, recordIds: string[], reason: string): Promise<number> {
    const rows = await this.outbox.inState(destinationId, 'pending', recordIds.length, recordIds)
    await this.outbox.move(rows, 'dead', { error: reason })
    if (rows.length) this.d.onDead?.(destinationId, rows.length)
    return rows.length
  }

  private async settle(
    destinationId: string,
    done: { delivered: OutboxRow[]; dead: [OutboxRow, string][]; withheld: OutboxRow[] },
    stopped?: { rest: OutboxRow[]; retry: RetryResult },
  ): Promise<void> {
    const now = this.now()
    // An erasure during the batch deleted the user's rows: writing their new state would bring them back.
    const kept = (rows: OutboxRow[]) => rows.filter((r) => !this.d.erased?.(r.record.userKey))
    done = { delivered: kept(done.delivered), dead: done.dead.filter(([r]) => kept([r]).length), withheld: kept(done.withheld) }
    await this.outbox.move(done.delivered, 'delivered', { attempts: (r) => r.attempts + 1 })
    for (const [row, reason] of done.dead) await this.outbox.move([row], 'dead', { attempts: (r) => r.attempts + 1, error: reason })
    await this.outbox.move(done.withheld, 'withheld', { error: 'consent withdrawn' })
    if (done.delivered.length)
      this.d.onDelivered?.(
        destinationId,
        done.delivered.length,
        done.delivered.map((r) => now - r.record.at),
      )
    if (done.dead.length) this.d.onDead?.(destinationId, done.dead.length)
    if (done.withheld.length) this.d.onWithheld?.(destinationId, done.withheld.length)
    if (stopped) {
      // Only the record that failed was tried; the ones after it wait their turn unchanged.
      const [failed] = stopped.rest
      if (failed && kept([failed]).length)
        await this.outbox.move([failed], 'pending', { attempts: (r) => r.attempts + 1, error: stopped.retry.reason })
      this.d.onRetry?.(destinationId)
    }
  }
}

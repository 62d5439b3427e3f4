import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import type { OutboxRow } from './outbox.js'
import { Outbox } from './outbox.js'

/** One destination's row of the report: what left, what is waiting, what gave up, and how late. */
export interface DestinationReportRow {
  destinationId: string
  delivered: number
  /** Failed attempts that were retried (a record delivered on its third attempt counts 2). */
  retried: number
  deadLettered: number
  /** Kept in Nudge because the user's consent was withdrawn before the send. */
  withheld: number
  pending: number
  /** Age of the oldest pending record (ms; 0 when none): how far behind the destination is. */
  lagMs: number
  /** 95th percentile of fact → delivered (ms) over delivered records. */
  deliveredLagP95Ms: number
}

/** The report, from the outbox itself: the same in every process, whichever delivered. */
export async function destinationReport(client: ClickHouseClient, now = Date.now()): Promise<DestinationReportRow[]> {
  const rows = await selectRows<Record<string, string | number>>(
    client,
    `SELECT destination_id AS d,
            countIf(state = 'delivered') AS delivered,
            sum(if(state = 'pending', attempts, if(attempts > 0, attempts - 1, 0))) AS retried,
            countIf(state = 'dead') AS dead,
            countIf(state = 'withheld') AS withheld,
            countIf(state = 'pending') AS pending,
            toUnixTimestamp64Milli(minIf(at, state = 'pending')) AS oldest,
            quantileIf(0.95)(toUnixTimestamp64Milli(updated_at) - toUnixTimestamp64Milli(at), state = 'delivered') AS p95
     FROM destination_outbox FINAL GROUP BY destination_id ORDER BY destination_id`,
  )
  return rows.map((r) => ({
    destinationId: String(r.d),
    delivered: Number(r.delivered),
    retried: Number(r.retried),
    deadLettered: Number(r.dead),
    withheld: Number(r.withheld),
    pending: Number(r.pending),
    lagMs: Number(r.pending) > 0 ? Math.max(0, now - Number(r.oldest)) : 0,
    deliveredLagP95Ms: Math.round(Number(r.p95) || 0),
  }))
}

/** The dead-letter list of a destination, oldest first. */
export function deadLetters(client: ClickHouseClient, destinationId: string, limit: number): Promise<OutboxRow[]> {
  return new Outbox(client).inState(destinationId, 'dead', limit)
}

/** Replays dead letters (all, or these ids): pending again with a fresh attempt count; the dispatcher sends them in order. */
export async function replayDeadLetters(client: ClickHouseClient, destinationId: string, recordIds?: string[]): Promise<number> {
  const outbox = new Outbox(client)
  const rows = await outbox.inState(destinationId, 'dead', recordIds?.length ?? 100_000, recordIds)
  await outbox.move(rows, 'pending', { attempts: () => 0, error: '' })
  return rows.length
}

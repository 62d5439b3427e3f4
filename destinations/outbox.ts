import type { ClickHouseClient } from '@clickhouse/client'
import { type ClusterOptions, toClusterStatements } from '../clickhouse/clusterDdl.js'
import { selectRows } from '../clickhouse/store.js'
import type { DestinationRecord } from './destinationRecord.js'

/**
 * The outbox (`destination_outbox`): every record on its way to a destination and its state.
 * A change of state is a new row with a higher version (ReplacingMergeTree keeps the latest, and
 * reads use FINAL), so nothing is updated in place and a crash between two writes loses nothing.
 */
export type OutboxState = 'pending' | 'delivered' | 'dead' | 'withheld'

export interface OutboxRow {
  destinationId: string
  record: DestinationRecord
  seq: number
  state: OutboxState
  attempts: number
  lastError: string
  enqueuedAt: number
  updatedAt: number
}

interface DbRow {
  destination_id: string
  record_id: string
  seq: string | number
  payload: string
  state: OutboxState
  attempts: number
  last_error: string
  enqueued_at: string | number
  updated_at: string | number
}

const COLUMNS = `destination_id, record_id, seq, payload, state, attempts, last_error,
  toUnixTimestamp64Milli(enqueued_at) AS enqueued_at, toUnixTimestamp64Milli(updated_at) AS updated_at`

let lastVersion = 0
/** Versions grow within this process even when two writes share a millisecond. */
function nextVersion(now: number): number {
  lastVersion = Math.max(lastVersion + 1, now * 1000)
  return lastVersion
}

export class Outbox {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly now: () => number = Date.now,
    /** On a cluster (CLICKHOUSE_CLUSTER), a deletion goes to every shard's local table. */
    private readonly cluster?: ClusterOptions,
  ) {}

  /** Which of these record ids a destination already has (in any state): they are not enqueued twice. */
  async known(destinationId: string, recordIds: string[]): Promise<Set<string>> {
    if (!recordIds.length) return new Set()
    const rows = await selectRows<{ record_id: string }>(
      this.client,
      'SELECT DISTINCT record_id FROM destination_outbox WHERE destination_id = {d:String} AND record_id IN {ids:Array(String)}',
      { d: destinationId, ids: recordIds },
    )
    return new Set(rows.map((r) => r.record_id))
  }

  async write(rows: OutboxRow[]): Promise<void> {
    if (!rows.length) return
    await this.client.insert({
      table: 'destination_outbox',
      format: 'JSONEachRow',
      values: rows.map((r) => ({
        destination_id: r.destinationId,
        record_id: r.record.id,
        user_key: r.record.userKey,
        seq: r.seq,
        at: r.record.at,
        kind: r.record.kind,
        payload: JSON.stringify(r.record),
        state: r.state,
        attempts: r.attempts,
        last_error: r.lastError.slice(0, 1000),
        enqueued_at: r.enqueuedAt,
        updated_at: r.updatedAt,
        version: nextVersion(this.now()),
      })),
    })
  }

  /** Rows of a destination in one state, oldest first (seq): a delivery batch, or the dead-letter list. */
  async inState(destinationId: string, state: OutboxState, limit: number, recordIds?: string[]): Promise<OutboxRow[]> {
    const rows = await selectRows<DbRow>(
      this.client,
      `SELECT ${COLUMNS} FROM destination_outbox FINAL
       WHERE destination_id = {d:String} AND state = {state:String}${recordIds ? ' AND record_id IN {ids:Array(String)}' : ''}
       ORDER BY seq, record_id LIMIT {limit:UInt32}`,
      { d: destinationId, state, limit, ...(recordIds ? { ids: recordIds } : {}) },
    )
    return rows.map(fromDb)
  }

  /** Destinations with pending records: how many and since when (the dispatcher starts a batch for each). */
  async pending(): Promise<Map<string, { count: number; oldestAt: number }>> {
    const rows = await selectRows<{ d: string; n: string | number; oldest: string | number }>(
      this.client,
      `SELECT destination_id AS d, count() AS n, toUnixTimestamp64Milli(min(enqueued_at)) AS oldest
       FROM destination_outbox FINAL WHERE state = 'pending' GROUP BY destination_id`,
    )
    return new Map(rows.map((r) => [r.d, { count: Number(r.n), oldestAt: Number(r.oldest) }]))
  }

  /** Rows as they change state: the same row, its state, attempts and error moved on. */
  async move(rows: OutboxRow[], state: OutboxState, change: { attempts?: (r: OutboxRow) => number; error?: string } = {}): Promise<void> {
    const now = this.now()
    await this.write(
      rows.map((r) => ({
        ...r,
        state,
        attempts: change.attempts ? change.attempts(r) : r.attempts,
        lastError: change.error ?? r.lastError,
        updatedAt: now,
      })),
    )
  }

  /** Forgets a deleted destination's rows (its pending records and dead letters go nowhere now). */
  async dropDestination(destinationId: string): Promise<void> {
    const mutation = 'ALTER TABLE destination_outbox DELETE WHERE destination_id = {d:String} SETTINGS mutations_sync = 2'
    for (const query of this.cluster ? toClusterStatements(mutation, this.cluster) : [mutation])
      await this.client.command({ query, query_params: { d: destinationId } })
  }
}

function fromDb(r: DbRow): OutboxRow {
  return {
    destinationId: r.destination_id,
    record: JSON.parse(r.payload) as DestinationRecord,
    seq: Number(r.seq),
    state: r.state,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    enqueuedAt: Number(r.enqueued_at),
    updatedAt: Number(r.updated_at),
  }
}

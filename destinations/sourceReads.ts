import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { type DestinationRecord, recordId } from './destinationRecord.js'
import type { OutcomeRecordKind } from './destinationSchema.js'

/**
 * Reads what destinations receive from the tables Nudge already writes — the transition log, the
 * send ledger, message outcomes, the conversion events — so no write path had to learn about
 * destinations. Each read takes rows stamped after `since` (ms), in a fixed order from `offset` on, and returns records with ids
 * derived from the row, so an overlapping read finds the same ids.
 */
export interface SourceRead {
  records: DestinationRecord[]
  /** The newest stamp read (ms), or `since` when nothing was. */
  until: number
  /** The read stopped at its row limit: more rows may follow `until` (the feeder reads on). */
  full: boolean
}

export const LIMIT = 5000

export async function readTransitions(client: ClickHouseClient, since: number, offset = 0): Promise<SourceRead> {
  const rows = await selectRows<{ segment_id: string; user_key: string; entered: number; at: string | number }>(
    client,
    `SELECT segment_id, user_key, entered, toUnixTimestamp64Milli(at) AS at FROM segment_transitions
     WHERE at > fromUnixTimestamp64Milli({since:Int64}) ORDER BY at, segment_id, user_key, entered LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { since, limit: LIMIT, offset },
  )
  return read(since, rows, (r) => {
    const at = Number(r.at)
    const entered = Number(r.entered) === 1
    return {
      id: recordId('segment', r.segment_id, r.user_key, at, entered ? 1 : 0),
      userKey: r.user_key,
      kind: entered ? 'segment_entered' : 'segment_exited',
      at,
      data: { segmentId: r.segment_id },
    }
  })
}

/** Mail sent (the ledger's `sent` rows; test sends never leave). */
export async function readSends(client: ClickHouseClient, since: number, offset = 0): Promise<SourceRead> {
  const rows = await selectRows<{
    message_id: string
    user_key: string
    journey_id: string
    step_id: string
    template: string
    at: string | number
  }>(
    client,
    `SELECT message_id, user_key, journey_id, step_id, template, toUnixTimestamp64Milli(at) AS at FROM send_ledger
     WHERE status = 'sent' AND is_test = 0 AND at > fromUnixTimestamp64Milli({since:Int64})
     ORDER BY at, message_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { since, limit: LIMIT, offset },
  )
  return read(since, rows, (r) => outcome('sent', r, Number(r.at)))
}

const OUTCOME_OF: Record<string, OutcomeRecordKind> = { open: 'opened', click: 'clicked', unsubscribe: 'unsubscribed' }

/** Opens, clicks and unsubscribes; machine opens and clicks (scanners, prefetch) are not behaviour. */
export async function readOutcomes(client: ClickHouseClient, since: number, offset = 0): Promise<SourceRead> {
  const rows = await selectRows<{
    message_id: string
    event: string
    user_key: string
    journey_id: string
    step_id: string
    template: string
    url: string
    at: string | number
  }>(
    client,
    `SELECT message_id, event, user_key, journey_id, step_id, template, url, toUnixTimestamp64Milli(at) AS at FROM message_events
     WHERE event IN ('open', 'click', 'unsubscribe') AND is_test = 0 AND machine = 0 AND at > fromUnixTimestamp64Milli({since:Int64})
     ORDER BY at, message_id, event, url LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { since, limit: LIMIT, offset },
  )
  return read(since, rows, (r) => outcome(OUTCOME_OF[r.event]!, r, Number(r.at)))
}

/**
 * Conversions: a conversion event (by name) from a user who was sent mail in the 7 days before it,
 * credited to the last such message. Read by arrival (`received_at`): a late event still counts.
 */
export async function readConversions(client: ClickHouseClient, since: number, eventNames: string[], offset = 0): Promise<SourceRead> {
  if (!eventNames.length) return { records: [], until: since, full: false }
  const rows = await selectRows<{
    message_id: string
    user_key: string
    at: string | number
    received: string | number
    last: string
    journey_id: string
  }>(
    client,
    `SELECT e.message_id AS message_id, e.user_key AS user_key, toUnixTimestamp64Milli(e.timestamp) AS at,
            toUnixTimestamp64Milli(e.received_at) AS received, s.last AS last, s.journey_id AS journey_id
     FROM events AS e
     INNER JOIN (SELECT user_key, argMax(message_id, at) AS last, argMax(journey_id, at) AS journey_id, max(at) AS last_at
                 FROM send_ledger WHERE status = 'sent' AND is_test = 0 AND at > fromUnixTimestamp64Milli({since:Int64}) - INTERVAL 7 DAY
                 GROUP BY user_key) AS s ON s.user_key = e.user_key
     WHERE e.type = 'track' AND e.event IN {names:Array(String)} AND e.received_at > fromUnixTimestamp64Milli({since:Int64})
       AND e.timestamp >= s.last_at AND e.timestamp < s.last_at + INTERVAL 7 DAY
     ORDER BY e.received_at, e.message_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { since, names: eventNames, limit: LIMIT, offset },
  )
  const out = read(since, rows, (r) => ({
    id: recordId('converted', r.message_id),
    userKey: r.user_key,
    kind: 'converted' as const,
    at: Number(r.at),
    data: { messageId: r.last, journeyId: r.journey_id },
  }))
  return { ...out, until: rows.reduce((m, r) => Math.max(m, Number(r.received)), since) }
}

function outcome(
  kind: OutcomeRecordKind,
  r: { message_id: string; user_key: string; journey_id: string; step_id: string; template: string; url?: string },
  at: number,
): DestinationRecord {
  return {
    id: recordId(kind, r.message_id, at, r.url ?? ''),
    userKey: r.user_key,
    kind,
    at,
    data: { messageId: r.message_id, journeyId: r.journey_id, stepId: r.step_id, template: r.template, ...(r.url ? { url: r.url } : {}) },
  }
}

function read<R extends { at: string | number }>(since: number, rows: R[], toRecord: (r: R) => DestinationRecord): SourceRead {
  return { records: rows.map(toRecord), until: rows.reduce((m, r) => Math.max(m, Number(r.at)), since), full: rows.length >= LIMIT }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { dateTimeParam } from '../../analytics/segments/sqlBuilder.js'
import { selectRows } from '../../analytics/store.js'
import { BehaviorIndex, KIND_OF_EVENT } from './behaviorIndex.js'
import { orderProductIdsSql, productIdSql } from './productSql.js'
import { BEHAVIOR_EVENTS, DAY_MS, ORDER_COMPLETED } from './types.js'

/**
 * Fills a BehaviorIndex from the store: the product events of the last `days`, one query read in
 * pages along the table's own order (user, time, message id), so a million events never sit in
 * memory as one result. Product ids are extracted in SQL; only ids travel, not properties.
 * Only write batches up to `maxSeq` (migration 005) are read: the caller applies the later ones
 * from `onStored`, so no event is counted twice or missed while the load runs.
 */
export interface LoadOptions {
  /** Default 90. */
  days?: number
  /** Rows per page. Default 100 000. */
  pageSize?: number
  /** Entries per list per user. Default 20. */
  cap?: number
  /** Read batches up to this one; default: the highest stored when the load starts. */
  maxSeq?: number
}

export interface LoadResult {
  index: BehaviorIndex
  /** The last write batch read: events of later batches are the caller's to apply. */
  maxSeq: number
  events: number
  pages: number
}

type Row = [userKey: string, event: string, at: number, messageId: string, ids: string[]]

export async function loadBehavior(client: ClickHouseClient, now: number, opts: LoadOptions = {}): Promise<LoadResult> {
  const index = new BehaviorIndex(opts.cap ?? 20)
  const maxSeq = opts.maxSeq ?? Number((await selectRows<{ s: number | string }>(client, 'SELECT max(ingest_seq) AS s FROM events'))[0]?.s ?? 0)
  const pageSize = opts.pageSize ?? 100_000
  const sql = `
    SELECT user_key, event, toUnixTimestamp64Milli(timestamp), message_id,
           if(event = {purchase:String}, ${orderProductIdsSql('properties')}, [${productIdSql('properties')}])
    FROM events
    WHERE event IN {names:Array(String)} AND timestamp >= {since:DateTime64(3, 'UTC')} AND ingest_seq <= {maxSeq:UInt64}
      AND user_key >= {afterUser:String}
      AND (user_key, timestamp, message_id) > ({afterUser:String}, {afterAt:DateTime64(3, 'UTC')}, {afterId:String})
    ORDER BY user_key, timestamp, message_id
    LIMIT {pageSize:UInt32}`
  const params = {
    purchase: ORDER_COMPLETED,
    names: [...BEHAVIOR_EVENTS],
    since: dateTimeParam(now - (opts.days ?? 90) * DAY_MS),
    maxSeq,
    pageSize,
    afterUser: '',
    afterAt: dateTimeParam(0),
    afterId: '',
  }
  let events = 0
  let pages = 0
  for (;;) {
    const rs = await client.query({ query: sql, query_params: params, format: 'JSONCompactEachRow' })
    const rows = await rs.json<Row>()
    pages++
    for (const [userKey, event, at, , ids] of rows) {
      const kind = KIND_OF_EVENT[event]
      if (kind && userKey) index.record(userKey, kind, ids.filter(Boolean), Number(at))
    }
    events += rows.length
    const last = rows[rows.length - 1]
    if (!last || rows.length < pageSize) break
    params.afterUser = last[0]
    params.afterAt = dateTimeParam(Number(last[2]))
    params.afterId = last[3]
  }
  return { index, maxSeq, events, pages }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { dateTimeParam } from '../../clickhouse/sqlBuilder.js'
import { selectRows } from '../../clickhouse/store.js'
import { BehaviorIndex, KIND_OF_EVENT } from './behaviorIndex.js'
import { orderProductIdsSql, productIdSql } from './productSql.js'
import { BEHAVIOR_EVENTS, DAY_MS, ORDER_COMPLETED } from './types.js'

/**
 * Fills a BehaviorIndex from the store: the product events of the last `days`, read in pages by
 * a hash of the user key, so a million events never sit in memory as one result and each user's
 * events arrive in one page. The index does not care in which order events come, so pages need
 * no sort (a sorted read computed ids for far more rows than a page and was several times
 * slower). Product ids are extracted in SQL, only ids travel, and each page comes back as columns
 * in a single row (one JSON.parse of arrays instead of a hundred thousand small rows).
 * Only write batches up to `maxSeq` (migration 005) are read: the caller applies the later ones
 * from `onStored`, so no event is counted twice or missed while the load runs.
 */
export interface LoadOptions {
  /** Default 90. */
  days?: number
  /** About this many events per page. Default 100 000. */
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

type Page = [users: string[], events: string[], at: number[], ids: string[][]]

export async function loadBehavior(client: ClickHouseClient, now: number, opts: LoadOptions = {}): Promise<LoadResult> {
  const index = new BehaviorIndex(opts.cap ?? 20)
  const where = `event IN {names:Array(String)} AND timestamp >= {since:DateTime64(3, 'UTC')} AND ingest_seq <= {maxSeq:UInt64}`
  const params: Record<string, unknown> = {
    purchase: ORDER_COMPLETED,
    names: [...BEHAVIOR_EVENTS],
    since: dateTimeParam(now - (opts.days ?? 90) * DAY_MS),
    maxSeq: opts.maxSeq ?? Number((await selectRows<{ s: number | string }>(client, 'SELECT max(ingest_seq) AS s FROM events'))[0]?.s ?? 0),
  }
  const [counted] = await selectRows<{ n: number | string }>(client, `SELECT count() AS n FROM events WHERE ${where}`, params)
  const pages = Math.max(1, Math.ceil(Number(counted?.n ?? 0) / (opts.pageSize ?? 100_000)))
  const sql = `
    SELECT groupArray(user_key), groupArray(event), groupArray(toUnixTimestamp64Milli(timestamp)),
           groupArray(if(event = {purchase:String}, ${orderProductIdsSql('properties')}, [${productIdSql('properties')}]))
    FROM events
    WHERE ${where} AND cityHash64(user_key) % {pages:UInt32} = {page:UInt32}`
  let events = 0
  for (let page = 0; page < pages; page++) {
    const rs = await client.query({ query: sql, query_params: { ...params, pages, page }, format: 'JSONCompactEachRow' })
    const [[users = [], names = [], at = [], ids = []] = []] = await rs.json<Page>()
    for (let i = 0; i < users.length; i++) {
      const kind = KIND_OF_EVENT[names[i]!]
      if (kind && users[i]) index.record(users[i]!, kind, ids[i]!.filter(Boolean), Number(at[i]))
    }
    events += users.length
  }
  return { index, maxSeq: Number(params.maxSeq), events, pages }
}

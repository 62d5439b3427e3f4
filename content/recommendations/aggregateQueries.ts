import type { ClickHouseClient } from '@clickhouse/client'
import { dateTimeParam } from '../../analytics/segments/sqlBuilder.js'
import type { RawAggregates } from './aggregates.js'
import { orderProductIdsSql, productIdSql, sightingsSql } from './productSql.js'
import { DAY_MS, ORDER_COMPLETED, PRODUCT_VIEWED } from './types.js'

/**
 * The store-wide aggregates, recomputed in ClickHouse (a few passes over the product events of
 * the window) and read back whole: pairs of products in the same order, pairs viewed by the same
 * user, trending scores and best sellers. Each query returns its result as columns of a single
 * row: one JSON.parse of arrays instead of many small rows.
 */
export interface AggregateOptions {
  /** Co-occurrence and best-seller window. Default 90 days. */
  windowDays?: number
  /** Trending window. Default 7 days. */
  trendingDays?: number
  /** Partners kept per product. Default 10. */
  partners?: number
  /** An order's first lines / a user's latest viewed products that form pairs (pairs grow as n²). */
  maxPairItems?: number
  /** Ranked products read back for trending and best sellers. */
  maxRanked?: number
}

async function columns<T extends unknown[]>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' })
  const [row] = await rs.json<unknown[]>()
  return (row ?? []) as T
}

/** Every ordered pair of distinct ids of one array, as (a, b) rows. */
const PAIRS = 'arrayJoin(arrayFlatten(arrayMap(x -> arrayMap(y -> (x, y), arrayFilter(y -> y != x, ids)), ids)))'

function topPairs(idsSql: string): string {
  return `SELECT groupArray(a), groupArray(b), groupArray(n) FROM (
      SELECT pair.1 AS a, pair.2 AS b, count() AS n FROM (SELECT ${PAIRS} AS pair FROM (${idsSql}))
      GROUP BY a, b ORDER BY a, n DESC, b LIMIT {partners:UInt32} BY a)`
}

function zip3(c: [string[]?, string[]?, number[]?]): [string, string, number][] {
  const [a = [], b = [], n = []] = c
  return a.map((x, i) => [x, b[i]!, Number(n[i])])
}

export async function refreshAggregates(client: ClickHouseClient, now: number, opts: AggregateOptions = {}): Promise<RawAggregates> {
  const params = {
    since: dateTimeParam(now - (opts.windowDays ?? 90) * DAY_MS),
    trendSince: dateTimeParam(now - (opts.trendingDays ?? 7) * DAY_MS),
    purchase: ORDER_COMPLETED,
    viewed: PRODUCT_VIEWED,
    partners: opts.partners ?? 10,
    maxItems: opts.maxPairItems ?? 20,
    maxRanked: opts.maxRanked ?? 100_000,
  }
  const inWindow = "timestamp >= {since:DateTime64(3, 'UTC')}"
  const orderIds = `SELECT arraySlice(${orderProductIdsSql('properties')}, 1, {maxItems:UInt32}) AS ids FROM events WHERE event = {purchase:String} AND ${inWindow}`
  // Per user their latest distinct viewed products.
  const viewedIds = `SELECT arraySlice(arrayMap(t -> t.2, arrayReverseSort(groupArray((seen, pid)))), 1, {maxItems:UInt32}) AS ids FROM (
      SELECT user_key, pid, max(timestamp) AS seen FROM (
        SELECT user_key, ${productIdSql('properties')} AS pid, timestamp FROM events WHERE event = {viewed:String} AND ${inWindow})
      WHERE pid != '' GROUP BY user_key, pid)
    GROUP BY user_key`
  const trending = `SELECT groupArray(pid), groupArray(score) FROM (
      SELECT pid, sum(if(ev = {purchase:String}, 3, 1)) AS score
      FROM (${sightingsSql("event IN ({viewed:String}, {purchase:String}) AND timestamp >= {trendSince:DateTime64(3, 'UTC')}", '{purchase:String}')})
      WHERE pid != '' GROUP BY pid ORDER BY score DESC, pid LIMIT {maxRanked:UInt32})`
  const bestSellers = `SELECT groupArray(pid), groupArray(n) FROM (
      SELECT pid, count() AS n FROM (SELECT arrayJoin(${orderProductIdsSql('properties')}) AS pid FROM events WHERE event = {purchase:String} AND ${inWindow})
      GROUP BY pid ORDER BY n DESC, pid LIMIT {maxRanked:UInt32})`

  const bought = await columns<[string[], string[], number[]]>(client, topPairs(orderIds), params)
  const viewed = await columns<[string[], string[], number[]]>(client, topPairs(viewedIds), params)
  const [tIds = [], tScores = []] = await columns<[string[]?, number[]?]>(client, trending, params)
  const [bIds = [], bCounts = []] = await columns<[string[]?, number[]?]>(client, bestSellers, params)
  return {
    boughtTogether: zip3(bought),
    viewedTogether: zip3(viewed),
    trending: tIds.map((id, i) => [id, Number(tScores[i])]),
    bestSellers: bIds.map((id, i) => [id, Number(bCounts[i])]),
  }
}

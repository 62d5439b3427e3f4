import type { ClickHouseClient } from '@clickhouse/client'
import { dateTimeParam } from '../../clickhouse/sqlBuilder.js'
import type { RawAggregates } from './aggregates.js'
import { orderProductIdsSql, productIdSql, sightingsSql } from './productSql.js'
import { DAY_MS, ORDER_COMPLETED, PRODUCT_VIEWED } from './types.js'

/**
 * The store-wide aggregates, recomputed in ClickHouse and read back whole. Two kinds, refreshed
 * at different rates by the service: rankings (trending, best sellers: cheap, move by the minute)
 * and co-occurrence pairs (products in the same order, viewed by the same user: the costly part,
 * seconds at a million events, and they hardly move in a minute over a 90-day window). Each
 * query returns its result as columns of a single row: one JSON.parse of arrays.
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

function paramsOf(now: number, opts: AggregateOptions) {
  return {
    since: dateTimeParam(now - (opts.windowDays ?? 90) * DAY_MS),
    trendSince: dateTimeParam(now - (opts.trendingDays ?? 7) * DAY_MS),
    purchase: ORDER_COMPLETED,
    viewed: PRODUCT_VIEWED,
    partners: opts.partners ?? 10,
    maxItems: opts.maxPairItems ?? 20,
    maxRanked: opts.maxRanked ?? 100_000,
  }
}

const IN_WINDOW = "timestamp >= {since:DateTime64(3, 'UTC')}"

/**
 * Top partners per product from rows of distinct-id arrays (`ids`). Each unordered pair is
 * counted once (x < y) and then read both ways: half the rows to group. Partners rank by count,
 * then id, the same order rankPartners keeps.
 */
function topPairs(idsSql: string): string {
  return `SELECT groupArray(a), groupArray(top) FROM (
      SELECT a, arraySlice(arraySort(t -> (-toInt64(t.1), t.2), groupArray((n, b))), 1, {partners:UInt32}) AS top FROM (
        SELECT if(w = 0, p.1, p.2) AS a, if(w = 0, p.2, p.1) AS b, n FROM (
          SELECT p, count() AS n FROM (SELECT arrayJoin(arrayFlatten(arrayMap(x -> arrayMap(y -> (x, y), arrayFilter(y -> y > x, ids)), ids))) AS p FROM (${idsSql}))
          GROUP BY p)
        ARRAY JOIN [0, 1] AS w)
      GROUP BY a)`
}

function triples([a = [], tops = []]: [string[]?, [number, string][][]?]): [string, string, number][] {
  return a.flatMap((x, i) => (tops[i] ?? []).map(([n, b]): [string, string, number] => [x, b, Number(n)]))
}

export async function queryPairs(
  client: ClickHouseClient,
  now: number,
  opts: AggregateOptions = {},
): Promise<Pick<RawAggregates, 'boughtTogether' | 'viewedTogether'>> {
  const params = paramsOf(now, opts)
  const orderIds = `SELECT arraySlice(${orderProductIdsSql('properties')}, 1, {maxItems:UInt32}) AS ids FROM events WHERE event = {purchase:String} AND ${IN_WINDOW}`
  // Per user their latest distinct viewed products.
  const viewedIds = `SELECT arraySlice(arrayMap(t -> t.2, arrayReverseSort(groupArray((seen, pid)))), 1, {maxItems:UInt32}) AS ids FROM (
      SELECT user_key, pid, max(timestamp) AS seen FROM (
        SELECT user_key, ${productIdSql('properties')} AS pid, timestamp FROM events WHERE event = {viewed:String} AND ${IN_WINDOW})
      WHERE pid != '' GROUP BY user_key, pid)
    GROUP BY user_key`
  return {
    boughtTogether: triples(await columns(client, topPairs(orderIds), params)),
    viewedTogether: triples(await columns(client, topPairs(viewedIds), params)),
  }
}

export async function queryRankings(
  client: ClickHouseClient,
  now: number,
  opts: AggregateOptions = {},
): Promise<Pick<RawAggregates, 'trending' | 'bestSellers'>> {
  const params = paramsOf(now, opts)
  const trending = `SELECT groupArray(pid), groupArray(score) FROM (
      SELECT pid, sum(if(ev = {purchase:String}, 3, 1)) AS score
      FROM (${sightingsSql("event IN ({viewed:String}, {purchase:String}) AND timestamp >= {trendSince:DateTime64(3, 'UTC')}", '{purchase:String}')})
      WHERE pid != '' GROUP BY pid ORDER BY score DESC, pid LIMIT {maxRanked:UInt32})`
  const bestSellers = `SELECT groupArray(pid), groupArray(n) FROM (
      SELECT pid, count() AS n FROM (SELECT arrayJoin(${orderProductIdsSql('properties')}) AS pid FROM events WHERE event = {purchase:String} AND ${IN_WINDOW})
      GROUP BY pid ORDER BY n DESC, pid LIMIT {maxRanked:UInt32})`
  const [tIds = [], tScores = []] = await columns<[string[]?, number[]?]>(client, trending, params)
  const [bIds = [], bCounts = []] = await columns<[string[]?, number[]?]>(client, bestSellers, params)
  return {
    trending: tIds.map((id, i) => [id, Number(tScores[i])]),
    bestSellers: bIds.map((id, i) => [id, Number(bCounts[i])]),
  }
}

/** Everything at once. */
export async function refreshAggregates(client: ClickHouseClient, now: number, opts: AggregateOptions = {}): Promise<RawAggregates> {
  return { ...(await queryPairs(client, now, opts)), ...(await queryRankings(client, now, opts)) }
}

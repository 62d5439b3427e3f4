import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { DEFAULT_RFM, type RfmCutoffs, revenueOf } from './computedSql.js'
import { dateTimeParam } from '../clickhouse/sqlBuilder.js'

/**
 * RFM scores are quintiles among purchasers, so they need the population: the cut points are
 * computed here (periodically) and bound into every query that scores a user.
 */
export async function loadRfmCutoffs(client: ClickHouseClient, purchaseEvent: string, now: number): Promise<RfmCutoffs> {
  const [row] = await selectRows<{ n: number | string; r: number[]; f: number[]; m: number[] }>(
    client,
    `SELECT count() AS n,
            quantiles(0.2, 0.4, 0.6, 0.8)(recency) AS r,
            quantiles(0.2, 0.4, 0.6, 0.8)(frequency) AS f,
            quantiles(0.2, 0.4, 0.6, 0.8)(monetary) AS m
     FROM (
       SELECT user_key,
              dateDiff('day', max(timestamp), {now:DateTime64(3, 'UTC')}) AS recency,
              count() AS frequency,
              sum(${revenueOf('properties')}) AS monetary
       FROM events WHERE type = 'track' AND event = {purchase:String}
       GROUP BY user_key)`,
    { now: dateTimeParam(now), purchase: purchaseEvent },
  )
  // Too few purchasers for quintiles to mean anything: keep the documented defaults.
  if (!row || Number(row.n) < 20) return DEFAULT_RFM
  return { recencyDays: row.r.map(Number), frequency: row.f.map(Number), monetary: row.m.map(Number) }
}

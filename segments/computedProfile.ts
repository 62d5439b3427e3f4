import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'
import { type ComputedContext, COMPUTED_KIND, computedExpr } from './computedSql.js'
import { COMPUTED_PROPERTIES, type ComputedProperty } from './ruleSchema.js'
import { Params } from '../clickhouse/sqlBuilder.js'

/** Every computed property of one user (their linked anonymous ids included), as the segments see them. */
export async function computedProfile(
  client: ClickHouseClient,
  keys: string[],
  ctx: ComputedContext,
  now: number,
): Promise<Record<ComputedProperty, unknown>> {
  const p = new Params()
  const aggs: string[] = []
  const agg = (expr: string) => {
    let i = aggs.indexOf(expr)
    if (i < 0) i = aggs.push(expr) - 1
    return `a${i}`
  }
  const nowParam = p.time(now)
  const exprs = COMPUTED_PROPERTIES.map((prop) => `${computedExpr(prop, ctx, agg, (v, t) => p.bind(v, t), nowParam)} AS ${prop}`)
  const keysParam = p.bind(keys, 'Array(String)')
  const sql = `SELECT ${exprs.join(', ')} FROM (SELECT ${aggs.map((a, i) => `${a} AS a${i}`).join(', ')} FROM events AS e WHERE e.user_key IN ${keysParam})`
  const [row] = await selectRows<Record<ComputedProperty, unknown>>(client, sql, p.values)
  const out = { ...row } as Record<ComputedProperty, unknown>
  for (const prop of COMPUTED_PROPERTIES) {
    if (COMPUTED_KIND[prop] === 'date') out[prop] = Number(out[prop]) > 0 ? new Date(Number(out[prop])).toISOString() : null
    else if (COMPUTED_KIND[prop] === 'number') out[prop] = Number(out[prop])
  }
  return out
}

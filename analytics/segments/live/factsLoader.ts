import type { ClickHouseClient } from '@clickhouse/client'
import { canonical, eventMatchSql, identityMap } from '../compile.js'
import { CATEGORY_COUNTS, revenueOf } from '../computedSql.js'
import { Params, jsonPath } from '../sqlBuilder.js'
import type { FactPlan } from './factPlan.js'
import { type UserFacts, newFacts } from './userFacts.js'

/**
 * Reads a plan's facts from the store: one pass over events (slot aggregates and totals per
 * user), one over traits, one over consent. `keys` limits it to those ids (a re-link). The
 * event predicates are the compiler's own SQL, so what is loaded and what the compiled segment
 * reads cannot drift apart.
 */
export interface LoadedFacts {
  users: Map<string, UserFacts>
  /** [user, time] at which time alone may change a loaded user's rules. */
  due: [string, number][]
}

type Row = unknown[]

async function compactRows(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<Row[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' })
  return rs.json<Row>()
}

export async function loadFacts(client: ClickHouseClient, plan: FactPlan, now: number, keys?: string[]): Promise<LoadedFacts> {
  const users = new Map<string, UserFacts>()
  const due: [string, number][] = []
  const factsOf = (u: string) => {
    let f = users.get(u)
    if (!f) users.set(u, (f = newFacts()))
    return f
  }
  const p = new Params()
  const keysParam = keys ? p.bind(keys, 'Array(String)') : ''
  const source = (table: string, alias: string) =>
    `FROM ${table} AS ${alias} LEFT ANY JOIN ${identityMap(keysParam || undefined)} AS m ON ${alias}.user_key = m.anonymous_id${keysParam ? ` WHERE ${alias}.user_key IN ${keysParam}` : ''}`
  const ms = 'toUnixTimestamp64Milli(e.timestamp)'

  // Events: totals and one column per event slot.
  const cols: string[] = []
  if (plan.totals) {
    const purchase = `e.event = ${p.bind(plan.purchaseEvent, 'String')}`
    cols.push('count()', `min(${ms})`, `max(${ms})`, `countIf(${purchase})`, `sumIf(${revenueOf('e.properties')}, ${purchase})`, `maxIf(${ms}, ${purchase})`)
    cols.push(plan.categories ? CATEGORY_COUNTS : 'map()')
  }
  const slotCols = plan.slots.flatMap((ps, i): [number, string][] => {
    const s = ps.slot
    if (s.kind === 'times') return [[i, `groupArrayIf(${ms}, ${eventMatchSql(p, s.match)} AND e.timestamp >= ${p.time(now - s.windowMs)})`]]
    if (s.kind === 'count') {
      const range = [s.from !== undefined ? ` AND e.timestamp >= ${p.time(s.from)}` : '', s.to !== undefined ? ` AND e.timestamp <= ${p.time(s.to)}` : ''].join('')
      return [[i, `countIf(${eventMatchSql(p, s.match)}${range})`]]
    }
    if (s.kind === 'pairs') {
      const key = s.keyPath ? `JSONExtractString(${jsonPath(p, 'e.properties', s.keyPath).join(', ')})` : "''"
      return [[i, `groupArrayIf((${ms}, ${key}), ${eventMatchSql(p, s.match)} AND e.timestamp >= ${p.time(now - s.lookbackMs)})`]]
    }
    return []
  })
  const eventRows = await compactRows(
    client,
    `SELECT ${canonical('e')} AS u${[...cols, ...slotCols.map(([, c]) => c)].map((c) => `, ${c}`).join('')} ${source('events', 'e')} GROUP BY u`,
    p.values,
  )
  const t0 = plan.totals ? 8 : 1
  for (const row of eventRows) {
    const u = row[0] as string
    const f = factsOf(u)
    f.seen = true
    if (plan.totals) {
      const [, n, first, last, orders, sales, lastOrder, cats] = row as [string, number, number, number, number, number, number, Record<string, number>]
      f.tot = { n: Number(n), first: Number(first), last: Number(last), orders: Number(orders), sales: Number(sales), lastOrder: Number(lastOrder) }
      const entries = Object.entries(cats)
      if (entries.length) f.tot.cats = new Map(entries.map(([k, v]) => [k, Number(v)]))
    }
    slotCols.forEach(([i], j) => {
      const v = row[t0 + j]
      const ps = plan.slots[i]!
      if (ps.slot.kind === 'count') {
        if (Number(v)) f.s[i] = Number(v)
        return
      }
      const list = v as (number | [number, string])[]
      if (!list.length) return
      f.s[i] = ps.slot.kind === 'times' ? (list as number[]).map(Number) : (list as [number, string][]).map(([t, k]): [number, string] => [Number(t), k])
      for (const x of list) {
        const t = Array.isArray(x) ? Number(x[0]) : Number(x)
        for (const d of ps.dueAfterMs) if (t + d > now) due.push([u, t + d])
      }
    })
  }

  // Traits: any trait puts a user in the universe; referenced keys are kept.
  const traitKeys = [...plan.traitSlots.keys()]
  const traitRows = await compactRows(
    client,
    `SELECT ${canonical('t')} AS u, groupArrayIf((t.key, t.value, toUnixTimestamp64Milli(t.updated_at)), t.key IN {traitKeys:Array(String)}) ${source('traits', 't')} GROUP BY u`,
    { ...p.values, traitKeys },
  )
  for (const [u, kv] of traitRows as [string, [string, string, number][]][]) {
    const f = factsOf(u)
    f.seen = true
    for (const [key, value, at] of kv) {
      const i = plan.traitSlots.get(key)!
      const cur = f.s[i] as [string, number] | undefined
      if (!cur || Number(at) >= cur[1]) f.s[i] = [value, Number(at)]
    }
  }

  // Consent of referenced topics (a consent row alone does not put a user in the universe).
  const topics = [...plan.consentSlots.keys()]
  if (topics.length) {
    const consentRows = await compactRows(
      client,
      `SELECT ${canonical('c')} AS u, c.topic, argMax(c.granted, c.changed_at), toUnixTimestamp64Milli(max(c.changed_at)) ${source('consent', 'c')}${keysParam ? ' AND' : ' WHERE'} c.topic IN {topics:Array(String)} GROUP BY u, c.topic`,
      { ...p.values, topics },
    )
    for (const [u, topic, granted, at] of consentRows as [string, string, number, number][]) factsOf(u).s[plan.consentSlots.get(topic)!] = [Number(granted) === 1, Number(at)]
  }
  return { users, due }
}

/** anonymous / previous id → [user, linked at], the latest link winning (as the identity map). */
export async function loadLinks(client: ClickHouseClient, keys?: string[]): Promise<Map<string, [string, number]>> {
  const rows = await compactRows(
    client,
    `SELECT anonymous_id, argMax(user_id, linked_at), toUnixTimestamp64Milli(max(linked_at)) FROM identities${keys ? ' WHERE anonymous_id IN {keys:Array(String)}' : ''} GROUP BY anonymous_id`,
    keys ? { keys } : {},
  )
  return new Map((rows as [string, string, number][]).map(([a, u, at]) => [a, [u, Number(at)]]))
}

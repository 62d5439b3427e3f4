import type { ClickHouseClient } from '@clickhouse/client'
import { canonical, eventMatchSql, identityMap } from '../compile.js'
import { CATEGORY_COUNTS, revenueOf } from '../computedSql.js'
import { Params, jsonPath } from '../sqlBuilder.js'
import type { FactPlan } from './factPlan.js'
import { FactTable } from './factTable.js'

/**
 * Reads a plan's facts from the store into a FactTable: one pass over events (slot aggregates and
 * totals per user), one over traits, one over consent. `keys` limits it to those ids (a re-link).
 * The event predicates are the compiler's own SQL, so what is loaded and what a compiled segment
 * reads cannot drift apart. Each query returns its result as columns in a single row — one
 * JSON.parse of arrays is many times faster than a million small rows.
 */
export interface LoadedFacts {
  table: FactTable
  /** [user, time] at which time alone may change a loaded user's rules. */
  due: [string, number][]
}

async function columns(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<unknown[][]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' })
  const [row] = await rs.json<unknown[][]>()
  return row ?? []
}

export async function loadFacts(client: ClickHouseClient, plan: FactPlan, now: number, keys?: string[]): Promise<LoadedFacts> {
  const table = new FactTable(plan)
  const due: [string, number][] = []
  const p = new Params()
  const keysParam = keys ? p.bind(keys, 'Array(String)') : ''
  const from = (tableName: string, alias: string, where: string[] = []) => {
    const conds = [...where, ...(keysParam ? [`${alias}.user_key IN ${keysParam}`] : [])]
    return `FROM ${tableName} AS ${alias} LEFT ANY JOIN ${identityMap(keysParam || undefined)} AS m ON ${alias}.user_key = m.anonymous_id${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`
  }
  const ms = 'toUnixTimestamp64Milli(e.timestamp)'

  // Events: every user (the universe), totals, and one aggregate per event slot.
  const inner: string[] = []
  const outer = ['groupArray(u)']
  if (plan.totals) {
    const purchase = `e.event = ${p.bind(plan.purchaseEvent, 'String')}`
    const totals = ['count()', `min(${ms})`, `max(${ms})`, `countIf(${purchase})`, `sumIf(${revenueOf('e.properties')}, ${purchase})`, `maxIf(${ms}, ${purchase})`]
    totals.forEach((t, j) => {
      inner.push(`${t} AS t${j}`)
      outer.push(`groupArray(t${j})`)
    })
    if (plan.categories) {
      inner.push(`${CATEGORY_COUNTS} AS cats`)
      outer.push('groupArrayIf(u, notEmpty(cats))', 'groupArrayIf(cats, notEmpty(cats))')
    }
  }
  const eventSlots: number[] = []
  plan.slots.forEach((ps, i) => {
    const s = ps.slot
    let agg: string
    if (s.kind === 'times') agg = `groupArrayIf(${ms}, ${eventMatchSql(p, s.match)} AND e.timestamp >= ${p.time(now - s.windowMs)})`
    else if (s.kind === 'pairs') {
      const key = s.keyPath ? `JSONExtractString(${jsonPath(p, 'e.properties', s.keyPath).join(', ')})` : "''"
      agg = `groupArrayIf((${ms}, ${key}), ${eventMatchSql(p, s.match)} AND e.timestamp >= ${p.time(now - s.lookbackMs)})`
    } else if (s.kind === 'count') {
      const range = [s.from !== undefined ? ` AND e.timestamp >= ${p.time(s.from)}` : '', s.to !== undefined ? ` AND e.timestamp <= ${p.time(s.to)}` : ''].join('')
      agg = `countIf(${eventMatchSql(p, s.match)}${range})`
    } else return
    eventSlots.push(i)
    inner.push(`${agg} AS s${i}`)
    // Most users have none of a given event: only the non-empty ones travel.
    outer.push(`groupArrayIf(u, s${i} != ${s.kind === 'count' ? '0' : '[]'})`, `groupArrayIf(s${i}, s${i} != ${s.kind === 'count' ? '0' : '[]'})`)
  })
  const ev = await columns(client, `SELECT ${outer.join(', ')} FROM (SELECT ${canonical('e')} AS u${inner.map((x) => `, ${x}`).join('')} ${from('events', 'e')} GROUP BY u)`, p.values)
  const users = (ev[0] ?? []) as string[]
  const rows = users.map((u) => {
    const i = table.row(u)
    table.markSeen(i)
    return i
  })
  let c = 1
  if (plan.totals) {
    const [n, first, last, orders, sales, lastOrder] = ev.slice(1, 7) as number[][]
    rows.forEach((i, j) => table.setTotals(i, { n: n![j]!, first: first![j]!, last: last![j]!, orders: orders![j]!, sales: sales![j]!, lastOrder: lastOrder![j]! }))
    c = 7
    if (plan.categories) {
      const [who, cats] = [ev[c] as string[], ev[c + 1] as Record<string, number>[]]
      who.forEach((u, j) => table.setCategories(table.row(u), new Map(Object.entries(cats[j]!).map(([k, v]) => [k, Number(v)]))))
      c += 2
    }
  }
  for (const s of eventSlots) {
    const [who, values] = [ev[c] as string[], ev[c + 1] as unknown[]]
    c += 2
    const ps = plan.slots[s]!
    who.forEach((u, j) => {
      const i = table.row(u)
      if (ps.slot.kind === 'count') return table.setCount(i, s, Number(values[j]))
      const list = values[j] as (number | [number, string])[]
      table.setList(i, s, list as never)
      for (const x of list) {
        const t = Array.isArray(x) ? x[0] : x
        for (const d of ps.dueAfterMs) if (t + d > now) due.push([u, t + d])
      }
    })
  }

  // Traits: anyone with a trait is in the universe; referenced keys are kept (latest write).
  const [traitUsers] = (await columns(client, `SELECT groupArray(u) FROM (SELECT DISTINCT ${canonical('t')} AS u ${from('traits', 't')})`, p.values)) as [string[]]
  for (const u of traitUsers ?? []) table.markSeen(table.row(u))
  if (plan.traitSlots.size) {
    const [tu, tk, tv, tat] = (await columns(
      client,
      `SELECT groupArray(u), groupArray(k), groupArray(v), groupArray(at) FROM (
         SELECT ${canonical('t')} AS u, t.key AS k, argMax(t.value, t.updated_at) AS v, toUnixTimestamp64Milli(max(t.updated_at)) AS at
         ${from('traits', 't', ['t.key IN {traitKeys:Array(String)}'])} GROUP BY u, k)`,
      { ...p.values, traitKeys: [...plan.traitSlots.keys()] },
    )) as [string[], string[], string[], number[]]
    tu.forEach((u, j) => table.setLatest(table.row(u), plan.traitSlots.get(tk[j]!)!, tv[j]!, tat[j]!))
  }

  // Consent of referenced topics (a consent row alone does not put a user in the universe).
  const topics = [...plan.consentSlots.keys()]
  if (topics.length) {
    const cs = await columns(
      client,
      `SELECT groupArray(u), groupArray(topic), groupArray(g), groupArray(at) FROM (
         SELECT ${canonical('c')} AS u, c.topic AS topic, argMax(c.granted, c.changed_at) AS g, toUnixTimestamp64Milli(max(c.changed_at)) AS at
         ${from('consent', 'c', ['c.topic IN {topics:Array(String)}'])} GROUP BY u, topic)`,
      { ...p.values, topics },
    )
    const [cu, ct, cg, cat] = cs as [string[], string[], number[], number[]]
    cu.forEach((u, j) => table.setLatest(table.row(u), plan.consentSlots.get(ct[j]!)!, Number(cg[j]) === 1, cat[j]!))
  }
  return { table, due }
}

/** anonymous / previous id → [user, linked at], the latest link winning (as the identity map). */
export async function loadLinks(client: ClickHouseClient, keys?: string[]): Promise<Map<string, [string, number]>> {
  const [anon, user, at] = (await columns(
    client,
    `SELECT groupArray(anonymous_id), groupArray(u), groupArray(at) FROM (
       SELECT anonymous_id, argMax(user_id, linked_at) AS u, toUnixTimestamp64Milli(max(linked_at)) AS at FROM identities${keys ? ' WHERE anonymous_id IN {keys:Array(String)}' : ''} GROUP BY anonymous_id)`,
    keys ? { keys } : {},
  )) as [string[], string[], number[]]
  const out = new Map<string, [string, number]>()
  ;(anon ?? []).forEach((a, j) => out.set(a, [user![j]!, at![j]!]))
  return out
}

import type { ClickHouseClient } from '@clickhouse/client'
import { canonical, eventMatchSql, identityMap } from '../compile.js'
import { CATEGORY_COUNTS, revenueOf } from '../computedSql.js'
import { Params, jsonPath } from '../sqlBuilder.js'
import type { ColumnRange, FactTable } from './factTable.js'

/**
 * Fills columns of a FactTable from the store: one pass over events (slot aggregates and totals
 * per user), one over traits, one over consent.
 * - `maxSeq`: only rows of write batches up to that one (the caller follows the later ones), so
 *   ingest never has to stop while facts load;
 * - `keys`: only those ids (a re-link);
 * - `universe`: also mark who has events or traits at all (a whole table, not new columns).
 * The event predicates are the compiler's own SQL, so what is loaded and what a compiled segment
 * reads cannot drift apart. Each query returns its result as columns in a single row: one
 * JSON.parse of arrays is many times faster than a million small rows.
 * Returns [user, time] pairs at which time alone may change a loaded user's rules.
 */
export interface LoadOptions {
  range: ColumnRange
  universe: boolean
  now: number
  maxSeq?: number
  keys?: string[]
}

async function columns(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<unknown[][]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' })
  const [row] = await rs.json<unknown[][]>()
  return row ?? []
}

export async function loadFacts(client: ClickHouseClient, table: FactTable, opts: LoadOptions): Promise<[string, number][]> {
  const { plan } = table
  const { range, now } = opts
  const due: [string, number][] = []
  const p = new Params()
  const keysParam = opts.keys ? p.bind(opts.keys, 'Array(String)') : ''
  const seqParam = opts.maxSeq !== undefined ? p.bind(opts.maxSeq, 'UInt64') : ''
  const from = (tableName: string, alias: string, where: string[] = []) => {
    const conds = [
      ...where,
      ...(keysParam ? [`${alias}.user_key IN ${keysParam}`] : []),
      ...(seqParam ? [`${alias}.ingest_seq <= ${seqParam}`] : []),
    ]
    return `FROM ${tableName} AS ${alias} LEFT ANY JOIN ${identityMap(keysParam || undefined, seqParam || undefined)} AS m ON ${alias}.user_key = m.anonymous_id${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`
  }
  const ms = 'toUnixTimestamp64Milli(e.timestamp)'

  // Events: the universe, totals, and one aggregate per event slot.
  const inner: string[] = []
  const outer: string[] = []
  const read: ((col: (k: number) => unknown) => void)[] = []
  let k = 0
  const column = (expr: string, alias: string, onlyNonEmpty?: string) => {
    inner.push(`${expr} AS ${alias}`)
    if (onlyNonEmpty) outer.push(`groupArrayIf(u, ${onlyNonEmpty})`, `groupArrayIf(${alias}, ${onlyNonEmpty})`)
    else outer.push(`groupArray(${alias})`)
    const at = k
    k += onlyNonEmpty ? 2 : 1
    return at
  }
  let usersAt = -1
  if (opts.universe || range.totals) {
    outer.push('groupArray(u)')
    usersAt = k++
  }
  if (range.totals) {
    const purchase = `e.event = ${p.bind(plan.purchaseEvent, 'String')}`
    const at = [
      'count()',
      `min(${ms})`,
      `max(${ms})`,
      `countIf(${purchase})`,
      `sumIf(${revenueOf('e.properties')}, ${purchase})`,
      `maxIf(${ms}, ${purchase})`,
    ].map((t, j) => column(t, `t${j}`))
    read.push((col) => {
      const [n, first, last, orders, sales, lastOrder] = at.map((c) => col(c) as number[])
      ;(col(usersAt) as string[]).forEach((u, j) =>
        table.setTotals(table.row(u), {
          n: n![j]!,
          first: first![j]!,
          last: last![j]!,
          orders: orders![j]!,
          sales: sales![j]!,
          lastOrder: lastOrder![j]!,
        }),
      )
    })
  }
  if (range.categories) {
    const at = column(CATEGORY_COUNTS, 'cats', 'notEmpty(cats)')
    read.push((col) => {
      const cats = col(at + 1) as Record<string, number>[]
      ;(col(at) as string[]).forEach((u, j) =>
        table.setCategories(table.row(u), new Map(Object.entries(cats[j]!).map(([c, n]) => [c, Number(n)]))),
      )
    })
  }
  for (let s = range.from; s < range.to; s++) {
    const ps = plan.slots[s]!
    const slot = ps.slot
    let agg: string
    if (slot.kind === 'times')
      agg = `groupArrayIf(${ms}, ${eventMatchSql(p, slot.match)} AND e.timestamp >= ${p.time(now - slot.windowMs)})`
    else if (slot.kind === 'pairs') {
      const key = slot.keyPath ? `JSONExtractString(${jsonPath(p, 'e.properties', slot.keyPath).join(', ')})` : "''"
      agg = `groupArrayIf((${ms}, ${key}), ${eventMatchSql(p, slot.match)} AND e.timestamp >= ${p.time(now - slot.lookbackMs)})`
    } else if (slot.kind === 'count') {
      const r = [
        slot.from !== undefined ? ` AND e.timestamp >= ${p.time(slot.from)}` : '',
        slot.to !== undefined ? ` AND e.timestamp <= ${p.time(slot.to)}` : '',
      ].join('')
      agg = `countIf(${eventMatchSql(p, slot.match)}${r})`
    } else continue
    // Most users have none of a given event: only the non-empty ones travel.
    const at = column(agg, `s${s}`, `s${s} != ${slot.kind === 'count' ? '0' : '[]'}`)
    read.push((col) => {
      const values = col(at + 1) as unknown[]
      ;(col(at) as string[]).forEach((u, j) => {
        const i = table.row(u)
        if (slot.kind === 'count') return table.setCount(i, s, Number(values[j]))
        const list = values[j] as (number | [number, string])[]
        table.setList(i, s, list as never)
        for (const x of list) {
          const t = Array.isArray(x) ? x[0] : x
          for (const d of ps.dueAfterMs) if (t + d > now) due.push([u, t + d])
        }
      })
    })
  }
  if (outer.length) {
    // New slots only (no totals, no universe): read just the events they can match, not all.
    const narrow: string[] = []
    if (!opts.universe && !range.totals && !range.categories) {
      const slots = plan.slots.slice(range.from, range.to).map((ps) => ps.slot)
      const matches = slots.flatMap((sl) =>
        sl.kind === 'times' || sl.kind === 'pairs' || sl.kind === 'count' ? [`(${eventMatchSql(p, sl.match)})`] : [],
      )
      if (matches.length) narrow.push(`(${matches.join(' OR ')})`)
      const since = slots.map((sl) =>
        sl.kind === 'times' ? now - sl.windowMs : sl.kind === 'pairs' ? now - sl.lookbackMs : sl.kind === 'count' ? sl.from : undefined,
      )
      if (since.length && since.every((t) => t !== undefined)) narrow.push(`e.timestamp >= ${p.time(Math.min(...(since as number[])))}`)
    }
    const ev = await columns(
      client,
      `SELECT ${outer.join(', ')} FROM (SELECT ${canonical('e')} AS u${inner.map((x) => `, ${x}`).join('')} ${from('events', 'e', narrow)} GROUP BY u)`,
      p.values,
    )
    const col = (c: number) => ev[c] ?? []
    if (opts.universe) for (const u of col(usersAt) as string[]) table.markSeen(table.row(u))
    for (const r of read) r(col)
  }

  // Traits: anyone with a trait is in the universe; referenced keys are kept (latest write).
  if (opts.universe) {
    const [users] = (await columns(
      client,
      `SELECT groupArray(u) FROM (SELECT DISTINCT ${canonical('t')} AS u ${from('traits', 't')})`,
      p.values,
    )) as [string[]]
    for (const u of users ?? []) table.markSeen(table.row(u))
  }
  const traitKeys = [...plan.traitSlots].filter(([, s]) => s >= range.from && s < range.to)
  if (traitKeys.length) {
    const [tu, tk, tv, tat] = (await columns(
      client,
      `SELECT groupArray(u), groupArray(k), groupArray(v), groupArray(at) FROM (
         SELECT ${canonical('t')} AS u, t.key AS k, argMax(t.value, t.updated_at) AS v, toUnixTimestamp64Milli(max(t.updated_at)) AS at
         ${from('traits', 't', ['t.key IN {traitKeys:Array(String)}'])} GROUP BY u, k)`,
      { ...p.values, traitKeys: traitKeys.map(([key]) => key) },
    )) as [string[], string[], string[], number[]]
    tu.forEach((u, j) => table.setLatest(table.row(u), plan.traitSlots.get(tk[j]!)!, tv[j]!, tat[j]!))
  }

  // Consent of referenced topics (a consent row alone does not put a user in the universe).
  const topics = [...plan.consentSlots].filter(([, s]) => s >= range.from && s < range.to)
  if (topics.length) {
    const [cu, ct, cg, cat] = (await columns(
      client,
      `SELECT groupArray(u), groupArray(topic), groupArray(g), groupArray(at) FROM (
         SELECT ${canonical('c')} AS u, c.topic AS topic, argMax(c.granted, c.changed_at) AS g, toUnixTimestamp64Milli(max(c.changed_at)) AS at
         ${from('consent', 'c', ['c.topic IN {topics:Array(String)}'])} GROUP BY u, topic)`,
      { ...p.values, topics: topics.map(([t]) => t) },
    )) as [string[], string[], number[], number[]]
    cu.forEach((u, j) => table.setLatest(table.row(u), plan.consentSlots.get(ct[j]!)!, Number(cg[j]) === 1, cat[j]!))
  }
  return due
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

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
  const ctx: LoadContext = { client, table, opts, p, from, due: [] }
  await loadEvents(ctx)
  await loadTraits(ctx)
  await loadConsent(ctx)
  return ctx.due
}

/** What each part of a load shares: the bound parameters, the FROM clause, the times that come due. */
interface LoadContext {
  client: ClickHouseClient
  table: FactTable
  opts: LoadOptions
  p: Params
  from: (tableName: string, alias: string, where?: string[]) => string
  due: [string, number][]
}

const MS = 'toUnixTimestamp64Milli(e.timestamp)'

/**
 * The columns of the one query over events: per user (inner) an aggregate, gathered (outer) into
 * one array per column; each part says how to read its arrays back into the table.
 */
class EventColumns {
  readonly inner: string[] = []
  readonly outer: string[] = []
  readonly read: ((col: (k: number) => unknown) => void)[] = []
  private k = 0

  /** With `onlyNonEmpty`, two arrays (the users, then their values) of the users it holds for. */
  add(expr: string, alias: string, onlyNonEmpty?: string): number {
    this.inner.push(`${expr} AS ${alias}`)
    if (onlyNonEmpty) this.outer.push(`groupArrayIf(u, ${onlyNonEmpty})`, `groupArrayIf(${alias}, ${onlyNonEmpty})`)
    else this.outer.push(`groupArray(${alias})`)
    const at = this.k
    this.k += onlyNonEmpty ? 2 : 1
    return at
  }

  users(): number {
    this.outer.push('groupArray(u)')
    return this.k++
  }
}

/** Events: the universe, totals, and one aggregate per event slot. */
async function loadEvents(ctx: LoadContext): Promise<void> {
  const { opts, table } = ctx
  const range = opts.range
  const cols = new EventColumns()
  const usersAt = opts.universe || range.totals ? cols.users() : -1
  if (range.totals) addTotals(ctx, cols, usersAt)
  if (range.categories) {
    const at = cols.add(CATEGORY_COUNTS, 'cats', 'notEmpty(cats)')
    cols.read.push((col) => {
      const cats = col(at + 1) as Record<string, number>[]
      ;(col(at) as string[]).forEach((u, j) =>
        table.setCategories(table.row(u), new Map(Object.entries(cats[j]!).map(([c, n]) => [c, Number(n)]))),
      )
    })
  }
  addSlots(ctx, cols)
  if (!cols.outer.length) return
  const ev = await columns(
    ctx.client,
    `SELECT ${cols.outer.join(', ')} FROM (SELECT ${canonical('e')} AS u${cols.inner.map((x) => `, ${x}`).join('')} ${ctx.from('events', 'e', narrowing(ctx))} GROUP BY u)`,
    ctx.p.values,
  )
  const col = (c: number) => ev[c] ?? []
  if (opts.universe) for (const u of col(usersAt) as string[]) table.markSeen(table.row(u))
  for (const r of cols.read) r(col)
}

function addTotals(ctx: LoadContext, cols: EventColumns, usersAt: number): void {
  const { p, table } = ctx
  const purchase = `e.event = ${p.bind(table.plan.purchaseEvent, 'String')}`
  const at = [
    'count()',
    `min(${MS})`,
    `max(${MS})`,
    `countIf(${purchase})`,
    `sumIf(${revenueOf('e.properties')}, ${purchase})`,
    `maxIf(${MS}, ${purchase})`,
  ].map((t, j) => cols.add(t, `t${j}`))
  cols.read.push((col) => {
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

/** One aggregate per event slot in the range; list slots also note when their times come due. */
function addSlots(ctx: LoadContext, cols: EventColumns): void {
  const { p, table, opts, due } = ctx
  const { range, now } = opts
  for (let s = range.from; s < range.to; s++) {
    const ps = table.plan.slots[s]!
    const slot = ps.slot
    let agg: string
    if (slot.kind === 'times')
      agg = `groupArrayIf(${MS}, ${eventMatchSql(p, slot.match)} AND e.timestamp >= ${p.time(now - slot.windowMs)})`
    else if (slot.kind === 'pairs') {
      const key = slot.keyPath ? `JSONExtractString(${jsonPath(p, 'e.properties', slot.keyPath).join(', ')})` : "''"
      agg = `groupArrayIf((${MS}, ${key}), ${eventMatchSql(p, slot.match)} AND e.timestamp >= ${p.time(now - slot.lookbackMs)})`
    } else if (slot.kind === 'count') {
      const r = [
        slot.from !== undefined ? ` AND e.timestamp >= ${p.time(slot.from)}` : '',
        slot.to !== undefined ? ` AND e.timestamp <= ${p.time(slot.to)}` : '',
      ].join('')
      agg = `countIf(${eventMatchSql(p, slot.match)}${r})`
    } else continue
    // Most users have none of a given event: only the non-empty ones travel.
    const at = cols.add(agg, `s${s}`, `s${s} != ${slot.kind === 'count' ? '0' : '[]'}`)
    cols.read.push((col) => {
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
}

/** New slots only (no totals, no universe): read just the events they can match, not all. */
function narrowing(ctx: LoadContext): string[] {
  const { p, opts } = ctx
  const { range, now } = opts
  if (opts.universe || range.totals || range.categories) return []
  const narrow: string[] = []
  const slots = ctx.table.plan.slots.slice(range.from, range.to).map((ps) => ps.slot)
  const matches = slots.flatMap((sl) =>
    sl.kind === 'times' || sl.kind === 'pairs' || sl.kind === 'count' ? [`(${eventMatchSql(p, sl.match)})`] : [],
  )
  if (matches.length) narrow.push(`(${matches.join(' OR ')})`)
  const since = slots.map((sl) =>
    sl.kind === 'times' ? now - sl.windowMs : sl.kind === 'pairs' ? now - sl.lookbackMs : sl.kind === 'count' ? sl.from : undefined,
  )
  if (since.length && since.every((t) => t !== undefined)) narrow.push(`e.timestamp >= ${p.time(Math.min(...(since as number[])))}`)
  return narrow
}

/** Traits: anyone with a trait is in the universe; referenced keys are kept (latest write). */
async function loadTraits(ctx: LoadContext): Promise<void> {
  const { client, table, opts, p, from } = ctx
  const { range } = opts
  if (opts.universe) {
    const [users] = (await columns(
      client,
      `SELECT groupArray(u) FROM (SELECT DISTINCT ${canonical('t')} AS u ${from('traits', 't')})`,
      p.values,
    )) as [string[]]
    for (const u of users ?? []) table.markSeen(table.row(u))
  }
  const traitKeys = [...table.plan.traitSlots].filter(([, s]) => s >= range.from && s < range.to)
  if (!traitKeys.length) return
  const [tu, tk, tv, tat] = (await columns(
    client,
    `SELECT groupArray(u), groupArray(k), groupArray(v), groupArray(at) FROM (
       SELECT ${canonical('t')} AS u, t.key AS k, argMax(t.value, t.updated_at) AS v, toUnixTimestamp64Milli(max(t.updated_at)) AS at
       ${from('traits', 't', ['t.key IN {traitKeys:Array(String)}'])} GROUP BY u, k)`,
    { ...p.values, traitKeys: traitKeys.map(([key]) => key) },
  )) as [string[], string[], string[], number[]]
  tu.forEach((u, j) => table.setLatest(table.row(u), table.plan.traitSlots.get(tk[j]!)!, tv[j]!, tat[j]!))
}

/** Consent of referenced topics (a consent row alone does not put a user in the universe). */
async function loadConsent(ctx: LoadContext): Promise<void> {
  const { client, table, opts, p, from } = ctx
  const topics = [...table.plan.consentSlots].filter(([, s]) => s >= opts.range.from && s < opts.range.to)
  if (!topics.length) return
  const [cu, ct, cg, cat] = (await columns(
    client,
    `SELECT groupArray(u), groupArray(topic), groupArray(g), groupArray(at) FROM (
       SELECT ${canonical('c')} AS u, c.topic AS topic, argMax(c.granted, c.changed_at) AS g, toUnixTimestamp64Milli(max(c.changed_at)) AS at
       ${from('consent', 'c', ['c.topic IN {topics:Array(String)}'])} GROUP BY u, topic)`,
    { ...p.values, topics: topics.map(([t]) => t) },
  )) as [string[], string[], number[], number[]]
  cu.forEach((u, j) => table.setLatest(table.row(u), table.plan.consentSlots.get(ct[j]!)!, Number(cg[j]) === 1, cat[j]!))
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

import { type ComputedContext, COMPUTED_KIND, computedExpr } from './computedSql.js'
import { durationMs } from './duration.js'
import { type Rule, ENGAGEMENT_EVENTS } from './ruleSchema.js'
import type { EventMatchSpec } from './live/factPlan.js'
import type { Comparable } from '../core/compareValue.js'
import { Params, compare, jsonPath } from '../clickhouse/sqlBuilder.js'

/**
 * The segment compiler: a rule → one parameterised ClickHouse query that returns the member
 * user keys. Pure: no I/O, every value bound.
 *
 * Shape: one pass over `events` aggregates everything the behavioural and computed leaves need
 * per user (`ev`), one pass over `traits` (`tr`) and `consent` (`cs`) likewise; the leaves become
 * boolean expressions over those columns and the rule their AND/OR/NOT. Events and traits of
 * linked anonymous ids count for the user (identity map join).
 */
export interface CompileContext extends ComputedContext {
  now: number
  consentDefaults: Record<string, boolean>
}

/** Evaluate for these users only (incremental); `keys` are all their ids, anonymous ones included. */
export interface Scope {
  users: string[]
  keys: string[]
}

export interface CompiledQuery {
  sql: string
  params: Record<string, unknown>
}

/** anonymous / previous id → the user it was last linked to (limited to `keysParam`, and to links stored up to batch `maxSeqParam`, when given). */
export const identityMap = (keysParam?: string, maxSeqParam?: string) => {
  const where = [...(keysParam ? [`anonymous_id IN ${keysParam}`] : []), ...(maxSeqParam ? [`ingest_seq <= ${maxSeqParam}`] : [])]
  return `(SELECT anonymous_id, argMax(user_id, linked_at) AS uid FROM identities ${where.length ? `WHERE ${where.join(' AND ')} ` : ''}GROUP BY anonymous_id)`
}

class Compiler {
  readonly p = new Params()
  readonly ev: string[] = []
  readonly tr: string[] = []
  readonly cs: string[] = []
  /** Earliest event time any behavioural leaf needs; null = all of history. */
  private evSince: number | null = Number.POSITIVE_INFINITY
  readonly nowParam: string
  user = 'uni.u'

  constructor(readonly ctx: CompileContext) {
    this.nowParam = this.p.time(ctx.now)
  }

  private add(list: string[], prefix: string, expr: string): string {
    let i = list.indexOf(expr)
    if (i < 0) i = list.push(expr) - 1
    return `${prefix}.${prefix === 'ev' ? 'a' : prefix === 'tr' ? 't' : 'c'}${i}`
  }

  evAgg(expr: string, since: number | null): string {
    this.evSince = since === null || this.evSince === null ? null : Math.min(this.evSince, since)
    return this.add(this.ev, 'ev', expr)
  }

  since(): number | null {
    return this.evSince
  }

  eventMatch(m: EventMatchSpec): string {
    return eventMatchSql(this.p, m)
  }

  timeRange(r: { within?: string | number; between?: { from: string; to: string } }): { cond: string; since: number | null } {
    if (r.within !== undefined) {
      const since = this.ctx.now - durationMs(r.within)
      return { cond: ` AND e.timestamp >= ${this.p.time(since)}`, since }
    }
    if (r.between) {
      const from = Date.parse(r.between.from)
      return { cond: ` AND e.timestamp >= ${this.p.time(from)} AND e.timestamp <= ${this.p.time(Date.parse(r.between.to))}`, since: from }
    }
    return { cond: '', since: null }
  }

  countCond(column: string, count?: { gte?: number; lte?: number }): string {
    const gte = count?.gte ?? (count?.lte === undefined ? 1 : 0)
    const parts = [`${column} >= ${this.p.bind(gte, 'UInt64')}`]
    if (count?.lte !== undefined) parts.push(`${column} <= ${this.p.bind(count.lte, 'UInt64')}`)
    return `(${parts.join(' AND ')})`
  }

  rule(r: Rule): string {
    if ('and' in r) return `(${r.and.map((x) => this.rule(x)).join(' AND ')})`
    if ('or' in r) return `(${r.or.map((x) => this.rule(x)).join(' OR ')})`
    if ('not' in r) return `(NOT ${this.rule(r.not)})`
    if ('performed' in r) {
      const l = r.performed
      const t = this.timeRange(l)
      return this.countCond(this.evAgg(`countIf(${this.eventMatch(l)}${t.cond})`, t.since), l.count)
    }
    if ('engagement' in r) {
      const l = r.engagement
      const t = this.timeRange(l)
      const match = this.eventMatch({ type: 'track', event: ENGAGEMENT_EVENTS[l.action], excludeAutomated: !l.includeAutomated })
      return this.countCond(this.evAgg(`countIf(${match}${t.cond})`, t.since), l.count)
    }
    if ('sequence' in r) {
      const l = r.sequence
      const since = this.ctx.now - durationMs(l.lookback ?? '30d')
      const window = durationMs(l.within)
      const key = l.sameProperty ? `JSONExtractString(${jsonPath(this.p, 'e.properties', l.sameProperty).join(', ')})` : "''"
      const times = (m: typeof l.first) =>
        this.evAgg(
          `groupArrayIf((toUnixTimestamp64Milli(e.timestamp), ${key}), ${this.eventMatch(m)} AND e.timestamp >= ${this.p.time(since)})`,
          since,
        )
      const a = times(l.first)
      const b = times(l.then)
      // Some A whose window has fully passed with no matching B inside it.
      // B strictly after A: when A and B are the same event, an A must not cancel itself.
      return `arrayExists(x -> x.1 <= ${this.p.bind(this.ctx.now - window, 'Int64')} AND NOT arrayExists(y -> y.1 > x.1 AND y.1 <= x.1 + ${this.p.bind(window, 'Int64')} AND y.2 = x.2, ${b}), ${a})`
    }
    if ('trait' in r) {
      const l = r.trait
      const k = this.p.bind(l.key, 'String')
      const value = this.add(this.tr, 'tr', `argMaxIf(t.value, t.updated_at, t.key = ${k})`)
      // Present = written at least once and the latest value is not null (older rows don't count).
      const has = `(${this.add(this.tr, 'tr', `countIf(t.key = ${k})`)} > 0 AND ${value} != 'null')`
      return compare(this.p, (kind) => `JSONExtract${kind}(${value})`, has, l as Comparable)
    }
    if ('computed' in r) {
      const l = r.computed
      const expr = computedExpr(
        l.property,
        this.ctx,
        (a) => this.evAgg(a, null),
        (v, t) => this.p.bind(v, t),
        this.nowParam,
      )
      const asDate = COMPUTED_KIND[l.property] === 'date'
      const value = asDate ? (Array.isArray(l.value) ? l.value.map((x) => Date.parse(String(x))) : Date.parse(String(l.value))) : l.value
      const has = l.property === 'favourite_category' ? `${expr} != ''` : '1'
      return compare(this.p, () => expr, has, { ...l, value } as Comparable)
    }
    if ('consent' in r) {
      const l = r.consent
      const topic = this.p.bind(l.topic, 'String')
      const granted = this.add(this.cs, 'cs', `argMaxIf(c.granted, c.changed_at, c.topic = ${topic})`)
      const has = this.add(this.cs, 'cs', `countIf(c.topic = ${topic}) > 0`)
      const fallback = this.p.bind(this.ctx.consentDefaults[l.topic] ? 1 : 0, 'UInt8')
      return `(if(${has}, ${granted}, ${fallback}) = ${this.p.bind(l.granted ? 1 : 0, 'UInt8')})`
    }
    const l = r.segment
    const members = `(SELECT user_key FROM segment_membership FINAL WHERE segment_id = ${this.p.bind(l.id, 'String')} AND is_member = 1)`
    return `(${this.user} ${l.member === false ? 'NOT IN' : 'IN'} ${members})`
  }
}

/** The SQL test of one event (`e`) against a match spec; shared with the live facts loader. */
export function eventMatchSql(p: Params, m: EventMatchSpec): string {
  const type = m.type ?? 'track'
  const parts = [`e.type = ${p.bind(type, 'String')}`]
  if (m.event) parts.push(type === 'track' ? `e.event = ${p.bind(m.event, 'String')}` : `e.name = ${p.bind(m.event, 'String')}`)
  if (m.excludeAutomated) parts.push("NOT JSONExtractBool(e.properties, 'automated')")
  for (const f of m.where ?? []) {
    const args = jsonPath(p, 'e.properties', f.path)
    parts.push(compare(p, (kind) => `JSONExtract${kind}(${args.join(', ')})`, `JSONHas(${args.join(', ')})`, f as Comparable))
  }
  return parts.join(' AND ')
}

/** Can a user with no events at all satisfy the rule? If not, the events pass is the universe. */
export function requiresEvents(r: Rule): boolean {
  if ('and' in r) return r.and.some(requiresEvents)
  if ('or' in r) return r.or.every(requiresEvents)
  if ('not' in r) return false
  if ('performed' in r || 'engagement' in r) {
    const c = ('performed' in r ? r.performed : r.engagement).count
    return (c?.gte ?? (c?.lte === undefined ? 1 : 0)) >= 1
  }
  return 'sequence' in r
}

/** The user a row belongs to: its linked user if any (`m` is the identity map), else its own key. */
export function canonical(alias: string): string {
  return `if(m.uid != '', m.uid, ${alias}.user_key)`
}

function sourceSql(c: Compiler, keysParam: string, table: string, alias: string, aggs: string[], prefix: string, where: string[]): string {
  return `SELECT ${canonical(alias)} AS u, ${aggs.map((a, i) => `${a} AS ${prefix}${i}`).join(', ')}
   FROM ${table} AS ${alias} LEFT ANY JOIN ${identityMap(keysParam || undefined)} AS m ON ${alias}.user_key = m.anonymous_id
   WHERE ${[...where, ...(keysParam ? [`${alias}.user_key IN ${keysParam}`] : [])].join(' AND ') || '1'}
   GROUP BY u`
}

/** The per-user passes over events, traits and consent that the compiled leaves read. */
function subqueries(c: Compiler, keysParam: string): [string, string][] {
  const since = c.since()
  const evWhere = since !== null && Number.isFinite(since) ? [`e.timestamp >= ${c.p.time(since)}`] : []
  const out: [string, string][] = []
  if (c.ev.length) out.push(['ev', sourceSql(c, keysParam, 'events', 'e', c.ev, 'a', evWhere)])
  if (c.tr.length) out.push(['tr', sourceSql(c, keysParam, 'traits', 't', c.tr, 't', [])])
  if (c.cs.length) out.push(['cs', sourceSql(c, keysParam, 'consent', 'c', c.cs, 'c', [])])
  return out
}

export function compileSegment(rule: Rule, ctx: CompileContext, scope?: Scope): CompiledQuery {
  const c = new Compiler(ctx)
  const mainFromEvents = requiresEvents(rule)
  c.user = mainFromEvents ? 'ev.u' : 'uni.u'
  const condition = c.rule(rule)
  const keys = scope ? c.p.bind(scope.keys, 'Array(String)') : ''
  const sources = subqueries(c, keys)

  let from: string
  if (mainFromEvents) from = ''
  else if (scope) from = `(SELECT arrayJoin(${c.p.bind(scope.users, 'Array(String)')}) AS u) AS uni`
  else
    from = `(SELECT ${canonical('e')} AS u FROM events AS e LEFT ANY JOIN ${identityMap()} AS m ON e.user_key = m.anonymous_id GROUP BY u
   UNION DISTINCT
   SELECT ${canonical('t')} AS u FROM traits AS t LEFT ANY JOIN ${identityMap()} AS m ON t.user_key = m.anonymous_id GROUP BY u) AS uni`

  const parts: string[] = []
  for (const [alias, sql] of sources) {
    if (mainFromEvents && alias === 'ev') parts.unshift(`FROM (${sql}) AS ev`)
    else parts.push(`LEFT JOIN (${sql}) AS ${alias} ON ${alias}.u = ${c.user}`)
  }
  if (!mainFromEvents) parts.unshift(`FROM ${from}`)
  const scopeFilter = scope && mainFromEvents ? ` AND ev.u IN ${c.p.bind(scope.users, 'Array(String)')}` : ''
  const sql = `SELECT ${c.user} AS user_key\n${parts.join('\n')}\nWHERE ${condition}${scopeFilter}\nSETTINGS join_use_nulls = 0`
  return { sql, params: c.p.values }
}

/**
 * Several segments for the same users in one query: one pass over those users' events, traits and
 * consent serves every rule (shared aggregates are computed once). Returns, per user, one 0/1
 * column per rule (`s0`, `s1`, … in the order given). Used for real-time re-evaluation, where the
 * per-query cost matters more than anything else.
 */
export function compileScoped(rules: Rule[], ctx: CompileContext, scope: Scope): CompiledQuery {
  const c = new Compiler(ctx)
  c.user = 'uni.u'
  const conditions = rules.map((r) => c.rule(r))
  const keys = c.p.bind(scope.keys, 'Array(String)')
  const joins = subqueries(c, keys).map(([alias, sql]) => `LEFT JOIN (${sql}) AS ${alias} ON ${alias}.u = uni.u`)
  const sql = `SELECT uni.u AS user_key, ${conditions.map((x, i) => `toUInt8(${x}) AS s${i}`).join(', ')}
FROM (SELECT arrayJoin(${c.p.bind(scope.users, 'Array(String)')}) AS u) AS uni
${joins.join('\n')}
SETTINGS join_use_nulls = 0`
  return { sql, params: c.p.values }
}

import { COMPUTED_KIND, NEVER_DAYS, type ComputedContext } from '../computedSql.js'
import { durationMs } from '../duration.js'
import type { ComputedProperty, Rule } from '../ruleSchema.js'
import type { Comparable } from '../../core/compareValue.js'
import { comparer, readerOf } from '../../core/compareValue.js'
import { type FactPlan, countedMatch, leafSlots } from './factPlan.js'
import { extractBool, extractFloat, extractString, MISSING, parseStored } from '../../core/jsonValue.js'
import type { FactsView, Totals } from './factsView.js'

/**
 * The live twin of the segment compiler: a rule → a predicate over one user's facts, with the
 * same meaning as the SQL `compileSegment` produces (the differential test holds them to it).
 * Pure: membership of other segments and the clock come in through the context.
 */
export interface LiveContext extends ComputedContext {
  now: number
  consentDefaults: Record<string, boolean>
  isMember(segmentId: string, userKey: string): boolean
}

export type LivePredicate = (userKey: string, f: FactsView | undefined, ctx: LiveContext) => boolean

const DAY = 86_400_000
/** ClickHouse's dateDiff('day', a, b) in UTC: midnights crossed, not 24-hour periods. */
export const dayDiff = (a: number, b: number) => Math.floor(b / DAY) - Math.floor(a / DAY)

export function compileLive(rule: Rule, plan: FactPlan): LivePredicate {
  if ('and' in rule) {
    const parts = rule.and.map((r) => compileLive(r, plan))
    return (u, f, ctx) => parts.every((p) => p(u, f, ctx))
  }
  if ('or' in rule) {
    const parts = rule.or.map((r) => compileLive(r, plan))
    return (u, f, ctx) => parts.some((p) => p(u, f, ctx))
  }
  if ('not' in rule) {
    const inner = compileLive(rule.not, plan)
    return (u, f, ctx) => !inner(u, f, ctx)
  }
  if ('performed' in rule || 'engagement' in rule) {
    const { count, within } = countedMatch(rule)
    const i = plan.slotOf(leafSlots(rule)[0]!.slot)
    const gte = count?.gte ?? (count?.lte === undefined ? 1 : 0)
    const lte = count?.lte
    return (_u, f, ctx) => {
      const v = f?.slot(i)
      const n = v === undefined ? 0 : typeof v === 'number' ? v : within === undefined ? 0 : countSince(v as number[], ctx.now - within)
      return n >= gte && (lte === undefined || n <= lte)
    }
  }
  if ('sequence' in rule) {
    const [a, b] = leafSlots(rule).map((s) => plan.slotOf(s.slot))
    const within = durationMs(rule.sequence.within)
    const lookback = durationMs(rule.sequence.lookback ?? '30d')
    return (_u, f, ctx) => {
      const since = ctx.now - lookback
      const as = (f?.slot(a!) as [number, string][] | undefined)?.filter((x) => x[0] >= since) ?? []
      if (!as.length) return false
      const bs = (f?.slot(b!) as [number, string][] | undefined)?.filter((x) => x[0] >= since) ?? []
      // Some A whose window has fully passed with no matching B strictly after it, inside it.
      return as.some((x) => x[0] <= ctx.now - within && !bs.some((y) => y[0] > x[0] && y[0] <= x[0] + within && y[1] === x[1]))
    }
  }
  if ('trait' in rule) {
    const i = plan.slotOf({ kind: 'trait', key: rule.trait.key })
    const cmp = comparer(rule.trait as Comparable)
    const test = (text: string | undefined): boolean => {
      const has = text !== undefined && text !== 'null'
      const v = text === undefined ? MISSING : parseStored(text)
      return cmp(has, readerOf({ string: () => extractString(v), float: () => extractFloat(v), bool: () => extractBool(v) }))
    }
    // The answer depends on the stored text only, and traits repeat ("NO", 34): remember it.
    const known = new Map<string, boolean>()
    return (_u, f) => {
      const text = (f?.slot(i) as [string, number] | undefined)?.[0]
      if (text === undefined) return test(undefined)
      let r = known.get(text)
      if (r === undefined) {
        r = test(text)
        if (known.size < 100_000) known.set(text, r)
      }
      return r
    }
  }
  if ('computed' in rule) {
    const l = rule.computed
    const asDate = COMPUTED_KIND[l.property] === 'date'
    const value = asDate ? (Array.isArray(l.value) ? l.value.map((x) => Date.parse(String(x))) : Date.parse(String(l.value))) : l.value
    const cmp = comparer({ ...(l as Comparable), value } as Comparable)
    return (_u, f, ctx) => {
      const x = computedValue(l.property, f?.totals(), ctx)
      const has = l.property === 'favourite_category' ? x !== '' : true
      return cmp(has, readerOf({ string: () => String(x), float: () => Number(x), bool: () => Boolean(x) }))
    }
  }
  if ('consent' in rule) {
    const i = plan.slotOf({ kind: 'consent', topic: rule.consent.topic })
    const { topic, granted } = rule.consent
    return (_u, f, ctx) => {
      const cur = f?.slot(i) as [boolean, number] | undefined
      return (cur ? cur[0] : Boolean(ctx.consentDefaults[topic])) === granted
    }
  }
  const { id, member } = rule.segment
  return (u, _f, ctx) => ctx.isMember(id, u) === (member !== false)
}

function countSince(times: number[], since: number): number {
  let n = 0
  for (const t of times) if (t >= since) n++
  return n
}

/** The same arithmetic as `computedExpr`, on the totals (absent totals read as a user with no events). */
export function computedValue(
  property: ComputedProperty,
  tot: Totals | undefined,
  ctx: ComputedContext & { now: number },
): number | string {
  const t = tot ?? { n: 0, first: 0, last: 0, orders: 0, sales: 0, lastOrder: 0 }
  const sinceLastOrder = () => (t.orders > 0 ? dayDiff(t.lastOrder, ctx.now) : NEVER_DAYS)
  const above = (v: number, cuts: number[]) => cuts.filter((q) => v > q).length
  const r = () => (t.orders === 0 ? 0 : 5 - above(sinceLastOrder(), ctx.rfm.recencyDays))
  const fq = () => (t.orders === 0 ? 0 : 1 + above(t.orders, ctx.rfm.frequency))
  const m = () => (t.orders === 0 ? 0 : 1 + above(t.sales, ctx.rfm.monetary))
  switch (property) {
    case 'last_seen':
      return t.n ? t.last : 0
    case 'first_seen':
      return t.n ? t.first : 0
    case 'days_inactive':
      return t.n > 0 ? dayDiff(t.last, ctx.now) : NEVER_DAYS
    case 'event_count':
      return t.n
    case 'order_count':
      return t.orders
    case 'revenue':
    case 'ltv':
      return t.sales
    case 'average_order_value':
      return t.orders > 0 ? t.sales / t.orders : 0
    case 'days_since_last_order':
      return sinceLastOrder()
    case 'favourite_category':
      return favourite(t.cats)
    case 'r_score':
      return r()
    case 'f_score':
      return fq()
    case 'm_score':
      return m()
    case 'rfm_tier': {
      if (t.orders === 0) return 'none'
      const [R, F, M] = [r(), fq(), m()]
      if (R >= 4 && F >= 4 && M >= 4) return 'vip'
      if (R >= 3 && F >= 4) return 'loyal'
      if (R <= 2 && F >= 3) return 'at_risk'
      if (R <= 1) return 'lapsed'
      if (F <= 1 && R >= 4) return 'new'
      return 'regular'
    }
    case 'loyalty_tier': {
      const tier = [...ctx.loyaltyTiers].sort((a, b) => b.minLtv - a.minLtv).find((x) => t.sales >= x.minLtv)
      return tier ? tier.name : 'none'
    }
  }
}

/** Most frequent; a tie goes to the alphabetically first (the SQL sorts the same way). */
export function favourite(cats: Map<string, number> | undefined): string {
  let best = ''
  let n = 0
  for (const [k, v] of cats ?? []) if (v > n || (v === n && k < best)) [best, n] = [k, v]
  return best
}

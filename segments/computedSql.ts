import type { ComputedProperty } from './ruleSchema.js'

/**
 * Computed properties as SQL over one user's events: the per-user aggregates (registered by the
 * caller, one pass over `events AS e`) and the expressions built on them. Used by the segment
 * compiler and by the profile API, so a segment on `rfm_tier = 'vip'` and the tier shown for a
 * user are the same expression.
 */
export interface RfmCutoffs {
  /** Quintile cut points (20/40/60/80 %) among purchasers. */
  recencyDays: number[]
  frequency: number[]
  monetary: number[]
}

export interface ComputedContext {
  purchaseEvent: string
  rfm: RfmCutoffs
  /** Ascending by minLtv; the highest tier reached wins; below the first: 'none'. */
  loyaltyTiers: { name: string; minLtv: number }[]
}

export const DEFAULT_RFM: RfmCutoffs = { recencyDays: [30, 60, 120, 240], frequency: [1, 2, 3, 5], monetary: [50, 100, 250, 500] }
export const DEFAULT_LOYALTY_TIERS = [
  { name: 'silver', minLtv: 100 },
  { name: 'gold', minLtv: 500 },
  { name: 'platinum', minLtv: 2000 },
]

/** What each property reads as: numbers compare numerically, dates as epoch milliseconds. */
export const COMPUTED_KIND: Record<ComputedProperty, 'number' | 'date' | 'string'> = {
  last_seen: 'date',
  first_seen: 'date',
  days_inactive: 'number',
  event_count: 'number',
  order_count: 'number',
  revenue: 'number',
  ltv: 'number',
  average_order_value: 'number',
  days_since_last_order: 'number',
  favourite_category: 'string',
  r_score: 'number',
  f_score: 'number',
  m_score: 'number',
  rfm_tier: 'string',
  loyalty_tier: 'string',
}

/** An order's value: `revenue`, else `total` (Segment's e-commerce spec has both). */
export function revenueOf(properties: string): string {
  return `if(JSONHas(${properties}, 'revenue'), JSONExtractFloat(${properties}, 'revenue'), JSONExtractFloat(${properties}, 'total'))`
}

/** Per category, how many of the user's events name it. */
export const CATEGORY_COUNTS =
  "sumMapIf(map(JSONExtractString(e.properties, 'category'), toUInt64(1)), JSONExtractString(e.properties, 'category') != '')"

/** "Never" for day counts of users with no such activity: far beyond any window a rule uses. */
export const NEVER_DAYS = 100000

type Bind = (value: unknown, type: string) => string
type Agg = (expr: string) => string

/** Returns the SQL expression of a computed property; `agg` registers an aggregate and returns its column. */
export function computedExpr(property: ComputedProperty, ctx: ComputedContext, agg: Agg, bind: Bind, nowParam: string): string {
  const purchase = () => `e.event = ${bind(ctx.purchaseEvent, 'String')}`
  const revenue = revenueOf('e.properties')
  const orders = () => agg(`countIf(${purchase()})`)
  const sales = () => agg(`sumIf(${revenue}, ${purchase()})`)
  const sinceLastOrder = () =>
    `if(${orders()} > 0, dateDiff('day', ${agg(`maxIf(e.timestamp, ${purchase()})`)}, ${nowParam}), ${NEVER_DAYS})`
  const score = (value: string, cuts: number[], higherIsBetter: boolean) =>
    higherIsBetter
      ? `if(${orders()} = 0, 0, 1 + arrayCount(q -> ${value} > q, ${bind(cuts, 'Array(Float64)')}))`
      : `if(${orders()} = 0, 0, 5 - arrayCount(q -> ${value} > q, ${bind(cuts, 'Array(Float64)')}))`
  const r = () => score(sinceLastOrder(), ctx.rfm.recencyDays, false)
  const f = () => score(orders(), ctx.rfm.frequency, true)
  const m = () => score(sales(), ctx.rfm.monetary, true)
  switch (property) {
    case 'last_seen':
      return `toUnixTimestamp64Milli(${agg('max(e.timestamp)')})`
    case 'first_seen':
      return `toUnixTimestamp64Milli(${agg('min(e.timestamp)')})`
    case 'days_inactive':
      return `if(${agg('count()')} > 0, dateDiff('day', ${agg('max(e.timestamp)')}, ${nowParam}), ${NEVER_DAYS})`
    case 'event_count':
      return agg('count()')
    case 'order_count':
      return orders()
    case 'revenue':
    case 'ltv':
      return sales()
    case 'average_order_value':
      return `if(${orders()} > 0, ${sales()} / ${orders()}, 0)`
    case 'days_since_last_order':
      return sinceLastOrder()
    case 'favourite_category':
      // Exact counts, ties to the alphabetically first: the live evaluator must pick the same one.
      return `arrayElement(arraySort(x -> (-toInt64(x.2), x.1), arrayZip(mapKeys(${agg(CATEGORY_COUNTS)}), mapValues(${agg(CATEGORY_COUNTS)}))), 1).1`
    case 'r_score':
      return r()
    case 'f_score':
      return f()
    case 'm_score':
      return m()
    case 'rfm_tier': {
      const [R, F, M] = [r(), f(), m()]
      return `multiIf(${orders()} = 0, 'none', ${R} >= 4 AND ${F} >= 4 AND ${M} >= 4, 'vip', ${R} >= 3 AND ${F} >= 4, 'loyal', ${R} <= 2 AND ${F} >= 3, 'at_risk', ${R} <= 1, 'lapsed', ${F} <= 1 AND ${R} >= 4, 'new', 'regular')`
    }
    case 'loyalty_tier': {
      const tiers = [...ctx.loyaltyTiers].sort((a, b) => b.minLtv - a.minLtv)
      if (!tiers.length) return "'none'"
      return `multiIf(${tiers.map((t) => `${sales()} >= ${bind(t.minLtv, 'Float64')}, ${bind(t.name, 'String')}`).join(', ')}, 'none')`
    }
  }
}

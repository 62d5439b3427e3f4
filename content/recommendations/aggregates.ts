import type { CatalogSnapshot } from './catalog.js'

/**
 * Store-wide signals, computed in ClickHouse every refresh (aggregateQueries.ts) and shaped here
 * for lookups: per product its ranked partners, per category its trending products. Pure, so the
 * ranking rules are tested without a store.
 */
export interface Partner {
  id: string
  /** Orders (bought together) or users (viewed together) that had both. */
  n: number
}

export interface RawAggregates {
  /** [product, partner, count] — every pair both ways. */
  boughtTogether: [string, string, number][]
  viewedTogether: [string, string, number][]
  /** [product, views + 3 × purchases] over the trending window. */
  trending: [string, number][]
  /** [product, orders containing it] over the window. */
  bestSellers: [string, number][]
}

export interface Aggregates {
  boughtTogether: ReadonlyMap<string, readonly Partner[]>
  viewedTogether: ReadonlyMap<string, readonly Partner[]>
  /** Most trending first, per catalog category. */
  trendingByCategory: ReadonlyMap<string, readonly string[]>
  /** Most trending first, all categories. */
  trending: readonly string[]
  bestSellers: readonly string[]
  trendScore: ReadonlyMap<string, number>
}

export interface BuildOptions {
  /** Partners kept per product. Default 10. */
  partners?: number
  /** Products kept per ranked list (trending per category, global lists). Default 50. */
  listLength?: number
}

export const EMPTY_AGGREGATES: Aggregates = {
  boughtTogether: new Map(),
  viewedTogether: new Map(),
  trendingByCategory: new Map(),
  trending: [],
  bestSellers: [],
  trendScore: new Map(),
}

const byCountThenId = (a: { id: string; n: number }, b: { id: string; n: number }) => b.n - a.n || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Ranked partner lists: most shared first, ties by id (a stable order between refreshes). */
export function rankPartners(pairs: readonly [string, string, number][], keep = 10): Map<string, Partner[]> {
  const out = new Map<string, Partner[]>()
  for (const [a, b, n] of pairs) {
    if (a === b) continue
    let list = out.get(a)
    if (!list) out.set(a, (list = []))
    list.push({ id: b, n: Number(n) })
  }
  for (const [a, list] of out) out.set(a, list.sort(byCountThenId).slice(0, keep))
  return out
}

function ranked(scores: readonly [string, number][]): Partner[] {
  return scores.map(([id, n]) => ({ id, n: Number(n) })).sort(byCountThenId)
}

/** Trending per category is grouped by the catalog's category (the API's word wins over events'). */
export function buildAggregates(raw: RawAggregates, catalog: CatalogSnapshot, opts: BuildOptions = {}): Aggregates {
  const keep = opts.partners ?? 10
  const length = opts.listLength ?? 50
  const trending = ranked(raw.trending)
  const byCategory = new Map<string, string[]>()
  for (const { id } of trending) {
    const category = catalog.get(id)?.category
    if (!category) continue
    let list = byCategory.get(category)
    if (!list) byCategory.set(category, (list = []))
    if (list.length < length) list.push(id)
  }
  return {
    boughtTogether: rankPartners(raw.boughtTogether, keep),
    viewedTogether: rankPartners(raw.viewedTogether, keep),
    trendingByCategory: byCategory,
    trending: trending.slice(0, length).map((t) => t.id),
    bestSellers: ranked(raw.bestSellers)
      .slice(0, length)
      .map((t) => t.id),
    trendScore: new Map(trending.map((t) => [t.id, t.n])),
  }
}

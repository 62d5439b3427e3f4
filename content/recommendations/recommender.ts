import type { Aggregates, Partner } from './aggregates.js'
import type { BehaviorIndex, Entry, UserBehavior } from './behaviorIndex.js'
import { behaviorFlags, favouriteCategory } from './behaviorFlags.js'
import type { CatalogSnapshot } from './catalog.js'
import { type BehaviorFlags, type BlockName, DAY_MS, type Reason, type RecommendOptions, type RecommendedProduct } from './types.js'

/**
 * Recommendation blocks from what is in memory — the user's index entry, the last aggregates and
 * the catalog — so a render costs map lookups, never a query. Every block ends with the same
 * fallbacks (trending in the user's category, best sellers, trending anywhere, then any product),
 * so it is never empty while an eligible product exists. What is never shown: a product bought in
 * the last `recentPurchaseDays`, one out of stock, the block's own anchor, a duplicate.
 */
export const MAX_LIMIT = 100

export interface RecommenderSources {
  readonly index: BehaviorIndex
  readonly aggregates: Aggregates
  readonly catalog: CatalogSnapshot
}

export interface RecommenderOptions {
  /** Default 30. */
  recentPurchaseDays?: number
  /** Products of the user's history a block starts from (partners, similar). Default 10. */
  seeds?: number
}

/** Collects up to `limit` eligible products, in the order offered. */
class Picker {
  readonly out: RecommendedProduct[] = []
  private readonly seen = new Set<string>()

  constructor(
    private readonly catalog: CatalogSnapshot,
    private readonly limit: number,
    private readonly exclude: ReadonlySet<string>,
  ) {}

  get full(): boolean {
    return this.out.length >= this.limit
  }

  add(id: string, reason: Reason): void {
    if (this.full || this.seen.has(id) || this.exclude.has(id)) return
    this.seen.add(id)
    const p = this.catalog.get(id)
    if (p?.in_stock) this.out.push({ ...p, reason })
  }

  addAll(ids: Iterable<string> | undefined, reason: Reason): void {
    if (!ids) return
    for (const id of ids) {
      if (this.full) return
      this.add(id, reason)
    }
  }
}

export class Recommender {
  private readonly recentMs: number
  private readonly seedCount: number

  constructor(
    private readonly src: RecommenderSources,
    opts: RecommenderOptions = {},
  ) {
    this.recentMs = (opts.recentPurchaseDays ?? 30) * DAY_MS
    this.seedCount = opts.seeds ?? 10
  }

  behavior(userKey: string, now: number): BehaviorFlags {
    return behaviorFlags(this.src.index.user(userKey), this.src.catalog, now)
  }

  recommend(userKey: string, block: BlockName, opts: RecommendOptions, now: number): RecommendedProduct[] {
    const { aggregates: agg, catalog } = this.src
    const u = this.src.index.user(userKey)
    // Bounded: a render must stay cheap whatever a template asks for.
    const limit = Math.min(MAX_LIMIT, Math.max(0, Math.floor(opts.limit ?? 4)))
    const anchor = opts.productId
    const exclude = new Set<string>()
    if (anchor) exclude.add(anchor)
    // Purchases are newest first: stop at the first one older than the window.
    for (const e of u?.purchased ?? []) {
      if (block !== 'similar' && e.at < now - this.recentMs) break
      exclude.add(e.id) // `similar` never offers anything already bought
    }
    // The block's context category: the anchor's, else the user's favourite.
    const category = (anchor && catalog.get(anchor)?.category) || favouriteCategory(u, catalog)
    const pick = new Picker(catalog, limit, exclude)

    switch (block) {
      case 'recently_viewed':
        for (const e of u?.viewed ?? []) if (!purchasedSince(u!, e)) pick.add(e.id, block)
        break
      case 'bought_together':
      case 'viewed_together': {
        const seeds = anchor
          ? [anchor]
          : this.seeds(u, block === 'bought_together' ? ['added', 'purchased', 'viewed'] : ['viewed', 'added', 'purchased'])
        // What the user already has or looked at is the reason for the block, not its content.
        for (const s of seeds) exclude.add(s)
        pick.addAll(partnersOf(block === 'bought_together' ? agg.boughtTogether : agg.viewedTogether, seeds), block)
        break
      }
      case 'trending_in_category':
        if (category) pick.addAll(agg.trendingByCategory.get(category), block)
        else pick.addAll(agg.trending, 'trending')
        break
      case 'similar':
        for (const ref of anchor ? [anchor] : (u?.viewed ?? []).slice(0, this.seedCount).map((e) => e.id)) {
          if (pick.full) break
          pick.addAll(similarTo(catalog, ref), block)
        }
        break
    }

    if (category) pick.addAll(agg.trendingByCategory.get(category), 'trending_in_category')
    pick.addAll(agg.bestSellers, 'best_sellers')
    pick.addAll(agg.trending, 'trending')
    for (const p of catalog.all()) {
      if (pick.full) break
      pick.add(p.product_id, 'catalog')
    }
    return pick.out
  }

  /** The user's products, by kind in the order given, each newest first; distinct, at most `seeds`. */
  private seeds(u: Readonly<UserBehavior> | undefined, kinds: ('viewed' | 'added' | 'purchased')[]): string[] {
    const out = new Set<string>()
    for (const kind of kinds) for (const e of u?.[kind] ?? []) if (out.size < this.seedCount) out.add(e.id)
    return [...out]
  }
}

/** Was the product bought at or after this view? */
function purchasedSince(u: Readonly<UserBehavior>, viewed: Entry): boolean {
  return u.purchased.some((p) => p.id === viewed.id && p.at >= viewed.at)
}

/**
 * Partners of several seeds, merged: a partner's counts add up, weighted by the seed's rank (the
 * first seed — the newest cart item, or the anchor — counts most). Ties keep first-seen order.
 */
export function partnersOf(partners: ReadonlyMap<string, readonly Partner[]>, seeds: readonly string[]): string[] {
  if (seeds.length === 1) return (partners.get(seeds[0]!) ?? []).map((p) => p.id)
  const score = new Map<string, number>()
  seeds.forEach((seed, rank) => {
    for (const p of partners.get(seed) ?? []) score.set(p.id, (score.get(p.id) ?? 0) + p.n / (1 + rank))
  })
  return [...score].sort((a, b) => b[1] - a[1]).map(([id]) => id)
}

/**
 * Same category, price within ±30 % (any price when the reference has none), closest price
 * first: a walk outward from the reference's place in the category's price-sorted list.
 */
export function* similarTo(catalog: CatalogSnapshot, refId: string, band = 0.3): Generator<string> {
  const ref = catalog.get(refId)
  if (!ref?.category) return
  const list = catalog.inCategory(ref.category)
  if (!(ref.price > 0)) {
    for (const p of list) if (p.product_id !== refId) yield p.product_id
    return
  }
  const lo = ref.price * (1 - band)
  const hi = ref.price * (1 + band)
  // First index with price >= ref.price.
  let a = 0
  let b = list.length
  while (a < b) {
    const m = (a + b) >> 1
    if (list[m]!.price < ref.price) a = m + 1
    else b = m
  }
  let left = a - 1
  let right = a
  for (;;) {
    const l = left >= 0 && list[left]!.price >= lo ? list[left]! : undefined
    const r = right < list.length && list[right]!.price <= hi ? list[right]! : undefined
    if (!l && !r) return
    const takeLeft = l && (!r || ref.price - l.price <= r.price - ref.price)
    const p = takeLeft ? l : r!
    if (takeLeft) left--
    else right++
    if (p.product_id !== refId) yield p.product_id
  }
}

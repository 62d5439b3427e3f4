import type { UserBehavior } from './behaviorIndex.js'
import type { CatalogSnapshot } from './catalog.js'
import { type BehaviorFlags, DAY_MS, noBehavior } from './types.js'

/**
 * What a template may branch on, from one user's index entry. Categories come from the catalog
 * (the API's word wins; event-derived products carry their events' category).
 */

/** Views and purchases per category; the most wins, ties to the most recent activity. */
export function favouriteCategory(u: Readonly<UserBehavior> | undefined, catalog: CatalogSnapshot): string | undefined {
  if (!u) return undefined
  const score = new Map<string, { n: number; at: number }>()
  for (const e of [...u.viewed, ...u.purchased]) {
    const c = catalog.get(e.id)?.category
    if (!c) continue
    const s = score.get(c)
    if (s) {
      s.n += e.n
      s.at = Math.max(s.at, e.at)
    } else score.set(c, { n: e.n, at: e.at })
  }
  let best: string | undefined
  let top = { n: 0, at: -Infinity }
  for (const [c, s] of score) if (s.n > top.n || (s.n === top.n && s.at > top.at)) [best, top] = [c, s]
  return best
}

export function behaviorFlags(u: Readonly<UserBehavior> | undefined, catalog: CatalogSnapshot, now: number): BehaviorFlags {
  if (!u) return noBehavior()
  const viewed = new Set<string>()
  for (const e of u.viewed) {
    const c = catalog.get(e.id)?.category
    if (c) viewed.add(c)
  }
  // Most views; the list is newest first, so a tie goes to the latest.
  let most: { id: string; views: number } | undefined
  for (const e of u.viewed) if (!most || e.n > most.views) most = { id: e.id, views: e.n }
  return {
    abandoned_cart: u.lastAddAt !== undefined && (u.lastOrderAt === undefined || u.lastAddAt > u.lastOrderAt),
    viewed_categories: [...viewed],
    favourite_category: favouriteCategory(u, catalog) ?? null,
    most_viewed_product: most ?? null,
    days_since_purchase: u.lastOrderAt === undefined ? null : Math.max(0, Math.floor((now - u.lastOrderAt) / DAY_MS)),
    purchases: u.orders,
  }
}

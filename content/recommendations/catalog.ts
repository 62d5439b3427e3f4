import { productsOf } from './eventProducts.js'
import type { BehaviorEvent, Product } from './types.js'

/**
 * The whole catalog in memory (API products and those known only from events), so a render
 * never queries for a product. Loaded by CatalogStore.snapshot(); kept current between loads by
 * API writes (`put`) and stored events (`learn`). Per category, products sorted by price, so
 * "similar price" is a binary search rather than a scan.
 */
export class CatalogSnapshot {
  private readonly byId = new Map<string, Product>()
  private readonly members = new Map<string, Map<string, Product>>()
  /** Sorted views of `members`, built on first use and dropped when the category changes. */
  private readonly sorted = new Map<string, Product[]>()

  constructor(products: Iterable<Product> = []) {
    for (const p of products) this.put(p)
  }

  get size(): number {
    return this.byId.size
  }

  get(id: string): Product | undefined {
    return this.byId.get(id)
  }

  all(): IterableIterator<Product> {
    return this.byId.values()
  }

  /** A category's products, cheapest first (ties by id). */
  inCategory(category: string): readonly Product[] {
    let list = this.sorted.get(category)
    if (!list) {
      list = [...(this.members.get(category)?.values() ?? [])].sort((a, b) => a.price - b.price || cmp(a.product_id, b.product_id))
      this.sorted.set(category, list)
    }
    return list
  }

  /** Sets a product as is (an API write, or a row of a fresh snapshot). */
  put(p: Product): void {
    const old = this.byId.get(p.product_id)
    if (old) this.unfile(old)
    this.byId.set(p.product_id, p)
    if (p.category) {
      let m = this.members.get(p.category)
      if (!m) this.members.set(p.category, (m = new Map()))
      m.set(p.product_id, p)
      this.sorted.delete(p.category)
    }
  }

  /**
   * What stored events say about products: a product the catalog API never wrote is known from
   * its events (latest non-empty value of each field); an API product is left alone.
   */
  learn(events: readonly BehaviorEvent[]): void {
    for (const e of events) {
      for (const s of productsOf(e.event, e.properties)) {
        const old = this.byId.get(s.id)
        if (old?.source === 'catalog') continue
        const newer = !old || e.timestamp >= old.updated_at
        // A field keeps what is known unless a newer event says something (an order line rarely has an image).
        const pick = <T>(fresh: T, known: T | undefined, empty: (v: T) => boolean): T =>
          known === undefined || empty(known) ? fresh : empty(fresh) || !newer ? known : fresh
        const blank = (v: string) => v === ''
        const next: Product = {
          id: s.id,
          product_id: s.id,
          name: pick(s.name, old?.name, blank),
          category: pick(s.category, old?.category, blank),
          price: pick(Number.isNaN(s.price) ? 0 : s.price, old?.price, (v) => v === 0),
          currency: pick(s.currency, old?.currency, blank),
          image_url: pick(s.image_url, old?.image_url, blank),
          url: pick(s.url, old?.url, blank),
          attributes: s.brand && (newer || !old?.attributes.brand) ? { ...old?.attributes, brand: s.brand } : (old?.attributes ?? {}),
          in_stock: true,
          source: 'events',
          updated_at: Math.max(old?.updated_at ?? e.timestamp, e.timestamp),
        }
        if (!old || !sameProduct(old, next)) this.put(next)
        else old.updated_at = next.updated_at
      }
    }
  }

  private unfile(p: Product): void {
    const m = this.members.get(p.category)
    if (!m) return
    m.delete(p.product_id)
    if (!m.size) this.members.delete(p.category)
    this.sorted.delete(p.category)
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function sameProduct(a: Product, b: Product): boolean {
  return (
    a.name === b.name &&
    a.category === b.category &&
    a.price === b.price &&
    a.currency === b.currency &&
    a.image_url === b.image_url &&
    a.url === b.url &&
    a.attributes.brand === b.attributes.brand
  )
}

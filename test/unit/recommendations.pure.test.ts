import { describe, expect, it } from 'vitest'
import { type RawAggregates, EMPTY_AGGREGATES, buildAggregates, rankPartners } from '../../content/recommendations/aggregates.js'
import { BehaviorIndex, type Entry, touch } from '../../content/recommendations/behaviorIndex.js'
import { behaviorFlags, favouriteCategory } from '../../content/recommendations/behaviorFlags.js'
import { CatalogSnapshot } from '../../content/recommendations/catalog.js'
import { productIdOf, productsOf } from '../../content/recommendations/eventProducts.js'
import { Recommender, partnersOf, similarTo } from '../../content/recommendations/recommender.js'
import type { BehaviorEvent, Product } from '../../content/recommendations/types.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-06-30T12:00:00.000Z')

function product(id: string, category: string, price: number, extra: Partial<Product> = {}): Product {
  return {
    id,
    product_id: id,
    name: id,
    category,
    price,
    currency: 'EUR',
    image_url: '',
    url: '',
    attributes: {},
    in_stock: true,
    source: 'catalog',
    updated_at: 0,
    ...extra,
  }
}
const viewed = (userKey: string, id: string, at: number, props: Record<string, unknown> = {}): BehaviorEvent => ({
  userKey,
  event: 'Product Viewed',
  timestamp: at,
  properties: { product_id: id, ...props },
})
const added = (userKey: string, id: string, at: number): BehaviorEvent => ({
  userKey,
  event: 'Product Added',
  timestamp: at,
  properties: { product_id: id },
})
const ordered = (userKey: string, ids: string[], at: number): BehaviorEvent => ({
  userKey,
  event: 'Order Completed',
  timestamp: at,
  properties: { products: ids.map((product_id) => ({ product_id })) },
})

describe('reading products from events', () => {
  it('takes product_id, else sku; numbers become text; nothing else counts', () => {
    expect(productIdOf({ product_id: 'p1', sku: 's1' })).toBe('p1')
    expect(productIdOf({ product_id: '', sku: 's1' })).toBe('s1')
    expect(productIdOf({ product_id: 42 })).toBe('42')
    expect(productIdOf({ product_id: { x: 1 }, sku: null })).toBe('')
    expect(productIdOf({ product_id: Number.NaN })).toBe('')
  })

  it('an order names each distinct line; its currency fills the lines’; other events name nothing', () => {
    const order = {
      currency: 'NOK',
      products: [{ product_id: 'a', price: '12.5' }, { sku: 'b', currency: 'EUR' }, { product_id: 'a' }, 'junk', { name: 'no id' }],
    }
    const got = productsOf('Order Completed', order)
    expect(got.map((s) => [s.id, s.currency, s.price])).toEqual([
      ['a', 'NOK', 12.5],
      ['b', 'EUR', Number.NaN],
    ])
    expect(productsOf('Product Viewed', { sku: 'x', name: 'X', category: 'c', price: 3, brand: 'B' })).toEqual([
      { id: 'x', name: 'X', category: 'c', price: 3, currency: '', image_url: '', url: '', brand: 'B' },
    ])
    expect(productsOf('Page Viewed', { product_id: 'x' })).toEqual([])
    expect(productsOf('Order Completed', { products: 'nope' })).toEqual([])
  })
})

describe('BehaviorIndex', () => {
  const list = (entries: Entry[]) => entries.map((e) => `${e.id}@${e.at}x${e.n}`)

  it('keeps lists newest first, counts repeats, drops the oldest beyond the cap', () => {
    const l: Entry[] = []
    touch(l, 'a', 10, 3)
    touch(l, 'b', 20, 3)
    touch(l, 'a', 30, 3)
    touch(l, 'c', 5, 3)
    expect(list(l)).toEqual(['a@30x2', 'b@20x1', 'c@5x1'])
    touch(l, 'd', 1, 3) // older than everything in a full list: not kept
    expect(list(l)).toEqual(['a@30x2', 'b@20x1', 'c@5x1'])
    touch(l, 'e', 25, 3)
    expect(list(l)).toEqual(['a@30x2', 'e@25x1', 'b@20x1'])
    touch(l, 'b', 15, 3) // an older repeat counts but does not move
    expect(list(l)).toEqual(['a@30x2', 'e@25x1', 'b@20x2'])
  })

  it('ends in the same state whatever the order events arrive in', () => {
    const events = [
      viewed('u', 'a', 1),
      viewed('u', 'b', 2),
      viewed('u', 'a', 3),
      added('u', 'b', 4),
      ordered('u', ['b', 'c'], 5),
      viewed('u', 'c', 6),
    ]
    const forward = new BehaviorIndex()
    forward.apply(events)
    const backward = new BehaviorIndex()
    backward.apply([...events].reverse())
    expect(backward.user('u')).toEqual(forward.user('u'))
    expect(forward.user('u')).toEqual({
      viewed: [
        { id: 'c', at: 6, n: 1 },
        { id: 'a', at: 3, n: 2 },
        { id: 'b', at: 2, n: 1 },
      ],
      added: [{ id: 'b', at: 4, n: 1 }],
      // Same time: the line applied later counts as newer.
      purchased: [
        { id: 'c', at: 5, n: 1 },
        { id: 'b', at: 5, n: 1 },
      ],
      orders: 1,
      lastOrderAt: 5,
      lastAddAt: 4,
    })
  })

  it('ignores other events, events without a user, views without a product; an order without lines still counts', () => {
    const index = new BehaviorIndex()
    index.apply([
      { userKey: 'u', event: 'Page Viewed', timestamp: 1, properties: { product_id: 'a' } },
      viewed('', 'a', 1),
      { userKey: 'v', event: 'Product Viewed', timestamp: 1, properties: {} },
      { userKey: 'w', event: 'Order Completed', timestamp: 7, properties: { revenue: 10 } },
    ])
    expect(index.user('u')).toBeUndefined()
    expect(index.user('v')).toBeUndefined()
    expect(index.user('w')).toMatchObject({ orders: 1, lastOrderAt: 7, purchased: [] })
    expect(index.size).toBe(1)
  })

  it('prune forgets what fell out of the window, and users left with nothing', () => {
    const index = new BehaviorIndex()
    index.apply([viewed('u', 'a', 10), viewed('u', 'b', 100), ordered('u', ['a'], 20), added('u', 'a', 15), viewed('old', 'x', 5)])
    index.prune(50)
    expect(index.user('u')).toEqual({
      viewed: [{ id: 'b', at: 100, n: 1 }],
      added: [],
      purchased: [],
      orders: 0,
      lastOrderAt: undefined,
      lastAddAt: undefined,
    })
    expect(index.user('old')).toBeUndefined()
  })
})

describe('CatalogSnapshot', () => {
  it('sorts a category by price and re-files a product that moves', () => {
    const c = new CatalogSnapshot([product('b', 'x', 20), product('a', 'x', 10), product('c', 'x', 10), product('d', 'y', 1)])
    expect(c.inCategory('x').map((p) => p.product_id)).toEqual(['a', 'c', 'b'])
    c.put(product('a', 'y', 30))
    expect(c.inCategory('x').map((p) => p.product_id)).toEqual(['c', 'b'])
    expect(c.inCategory('y').map((p) => p.product_id)).toEqual(['d', 'a'])
    expect(c.inCategory('none')).toEqual([])
  })

  it('learns products from events: latest non-empty field wins; the API’s products are left alone', () => {
    const c = new CatalogSnapshot([product('api', 'x', 5)])
    c.learn([
      viewed('u', 'e', 200, { name: 'New', category: 'shirts', price: 22 }),
      viewed('u', 'e', 100, { name: 'Old', category: 'tops', price: 20, image_url: 'old.jpg', brand: 'Acme' }),
      viewed('u', 'api', 300, { name: 'From event', price: 999 }),
    ])
    expect(c.get('e')).toEqual({
      ...product('e', 'shirts', 22, { name: 'New', currency: '', image_url: 'old.jpg', attributes: { brand: 'Acme' }, source: 'events' }),
      updated_at: 200,
    })
    expect(c.inCategory('shirts').map((p) => p.product_id)).toEqual(['e'])
    expect(c.inCategory('tops')).toEqual([])
    expect(c.get('api')).toEqual(product('api', 'x', 5))
  })
})

describe('aggregates', () => {
  it('ranks partners by count, then id, and keeps the top ones', () => {
    const ranked = rankPartners(
      [
        ['a', 'b', 1],
        ['a', 'c', 3],
        ['a', 'd', 1],
        ['a', 'a', 9],
        ['b', 'a', 1],
      ],
      2,
    )
    expect(ranked.get('a')).toEqual([
      { id: 'c', n: 3 },
      { id: 'b', n: 1 },
    ])
    expect(ranked.get('b')).toEqual([{ id: 'a', n: 1 }])
  })

  it('groups trending by the catalog’s category; products without one are only trending globally', () => {
    const catalog = new CatalogSnapshot([product('a', 'x', 1), product('b', 'y', 1), product('c', 'x', 1)])
    const raw: RawAggregates = {
      boughtTogether: [],
      viewedTogether: [],
      trending: [
        ['a', 2],
        ['c', 5],
        ['b', 4],
        ['z', 9],
      ],
      bestSellers: [
        ['b', 1],
        ['a', 1],
        ['c', 2],
      ],
    }
    const agg = buildAggregates(raw, catalog)
    expect(agg.trending).toEqual(['z', 'c', 'b', 'a'])
    expect(Object.fromEntries(agg.trendingByCategory)).toEqual({ x: ['c', 'a'], y: ['b'] })
    expect(agg.bestSellers).toEqual(['c', 'a', 'b'])
    expect(agg.trendScore.get('c')).toBe(5)
  })

  it('merges the partners of several seeds, the first seed weighing most', () => {
    const partners = new Map([
      ['s1', [{ id: 'p', n: 2 }]],
      [
        's2',
        [
          { id: 'q', n: 3 },
          { id: 'p', n: 1 },
        ],
      ],
    ])
    // p: 2 + 1/2 = 2.5; q: 3/2 = 1.5
    expect(partnersOf(partners, ['s1', 's2'])).toEqual(['p', 'q'])
    expect(partnersOf(partners, ['s2'])).toEqual(['q', 'p'])
    expect(partnersOf(partners, ['none'])).toEqual([])
  })
})

describe('similarTo', () => {
  const catalog = new CatalogSnapshot([
    product('r', 'x', 100),
    product('lo', 'x', 69),
    product('a', 'x', 72),
    product('b', 'x', 95),
    product('c', 'x', 106),
    product('d', 'x', 130),
    product('hi', 'x', 131),
    product('o', 'other', 100),
    product('free', 'y', 0),
    product('y1', 'y', 5),
  ])
  it('same category, within ±30 %, closest price first, never the product itself', () => {
    expect([...similarTo(catalog, 'r')]).toEqual(['b', 'c', 'a', 'd'])
  })
  it('without a price: the whole category; unknown product or no category: nothing', () => {
    expect([...similarTo(catalog, 'free')]).toEqual(['y1'])
    expect([...similarTo(catalog, 'missing')]).toEqual([])
  })
})

describe('Recommender', () => {
  const catalog = new CatalogSnapshot([
    product('s1', 'shoes', 100),
    product('s2', 'shoes', 110),
    product('s3', 'shoes', 120),
    product('s4', 'shoes', 90, { in_stock: false }),
    product('b1', 'bags', 50),
    product('b2', 'bags', 55),
    product('k1', 'socks', 5),
  ])
  const aggregates = {
    ...EMPTY_AGGREGATES,
    boughtTogether: new Map([
      [
        's1',
        [
          { id: 's4', n: 5 },
          { id: 'b1', n: 3 },
          { id: 's2', n: 1 },
        ],
      ],
    ]),
    trendingByCategory: new Map([
      ['shoes', ['s3', 's2', 's1']],
      ['bags', ['b2', 'b1']],
    ]),
    trending: ['s3', 'b2', 's2'],
    bestSellers: ['b1', 'k1'],
  }
  const index = new BehaviorIndex()
  index.apply([
    viewed('ann', 's1', NOW - 3 * DAY),
    viewed('ann', 's2', NOW - 2 * DAY),
    ordered('ann', ['s2'], NOW - 1 * DAY),
    viewed('ann', 'b1', NOW - 40 * DAY),
    ordered('ann', ['b1'], NOW - 35 * DAY), // bought over 30 days ago: may be offered again
  ])
  const rec = new Recommender({ index, aggregates, catalog })
  const ids = (user: string, block: Parameters<Recommender['recommend']>[1], opts = {}) =>
    rec.recommend(user, block, opts, NOW).map((p) => `${p.product_id}:${p.reason}`)

  it('recently viewed: not bought since; then the favourite category’s trending, then best sellers', () => {
    expect(ids('ann', 'recently_viewed')).toEqual(['s1:recently_viewed', 's3:trending_in_category', 'b1:best_sellers', 'k1:best_sellers'])
  })

  it('partners of an anchor: out of stock and recently bought left out, the anchor too', () => {
    expect(ids('ann', 'bought_together', { productId: 's1', limit: 3 })).toEqual([
      'b1:bought_together',
      's3:trending_in_category',
      'k1:best_sellers',
    ])
  })

  it('limit, no duplicates, and a block is never empty while something is eligible', () => {
    expect(ids('nobody', 'viewed_together', { limit: 10 })).toEqual([
      'b1:best_sellers',
      'k1:best_sellers',
      's3:trending',
      'b2:trending',
      's2:trending',
      's1:catalog',
    ])
    expect(ids('nobody', 'similar', { limit: 0 })).toEqual([])
  })

  it('similar never offers anything bought, at any time', () => {
    expect(ids('ann', 'similar', { limit: 2 })).toEqual(['s1:similar', 's3:similar'])
    // b1 (the only other bag) was bought 35 days ago: not similar; the fallbacks skip it too.
    expect(ids('ann', 'similar', { productId: 'b2', limit: 2 })).toEqual(['k1:best_sellers', 's3:trending'])
  })

  it('an empty catalog recommends nothing', () => {
    const empty = new Recommender({ index, aggregates: EMPTY_AGGREGATES, catalog: new CatalogSnapshot() })
    expect(empty.recommend('ann', 'trending_in_category', {}, NOW)).toEqual([])
  })
})

describe('behaviour flags', () => {
  const catalog = new CatalogSnapshot([product('a', 'x', 1), product('b', 'y', 1), product('c', 'y', 1)])

  it('abandoned cart: added after the last order (or with no order)', () => {
    const index = new BehaviorIndex()
    index.apply([
      added('cart', 'a', 10),
      ordered('done', ['a'], 20),
      added('done', 'a', 10),
      ordered('again', ['a'], 5),
      added('again', 'b', 10),
    ])
    expect(behaviorFlags(index.user('cart'), catalog, NOW).abandoned_cart).toBe(true)
    expect(behaviorFlags(index.user('done'), catalog, NOW).abandoned_cart).toBe(false)
    expect(behaviorFlags(index.user('again'), catalog, NOW).abandoned_cart).toBe(true)
  })

  it('favourite category counts views and purchases; ties go to the latest; most viewed likewise', () => {
    const index = new BehaviorIndex()
    index.apply([viewed('u', 'a', 1), viewed('u', 'a', 2), viewed('u', 'b', 3), ordered('u', ['c'], NOW - 2.5 * DAY)])
    // x: 2 views; y: 1 view + 1 purchase, more recent
    expect(favouriteCategory(index.user('u'), catalog)).toBe('y')
    expect(behaviorFlags(index.user('u'), catalog, NOW)).toEqual({
      abandoned_cart: false,
      viewed_categories: ['y', 'x'],
      favourite_category: 'y',
      most_viewed_product: { id: 'a', views: 2 },
      days_since_purchase: 2,
      purchases: 1,
    })
    index.apply([viewed('u', 'b', 4)])
    expect(behaviorFlags(index.user('u'), catalog, NOW).most_viewed_product).toEqual({ id: 'b', views: 2 })
  })
})

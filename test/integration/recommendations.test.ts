import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../clickhouse/store.js'
import { loadBehavior } from '../../content/recommendations/behaviorLoader.js'
import { RecommendationService } from '../../content/recommendations/service.js'
import type { BlockName, RecommendedProduct } from '../../content/recommendations/types.js'
import { tempDataDir } from '../helpers/harness.js'
import { trackRow } from '../helpers/rows.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * Recommendations on the real engine: events as the ingest path stores them, catalog rows through
 * CatalogStore.upsert, an injected "now" — then every block for given users is exactly this.
 */
const NOW = Date.parse('2026-06-30T12:00:00.000Z')
const ago = (days: number) => NOW - days * 86_400_000

type Ev = { user: string; event: string; at: number; props: Record<string, unknown> }
const view = (user: string, id: string, days: number, extra: Record<string, unknown> = {}): Ev => ({
  user,
  event: 'Product Viewed',
  at: ago(days),
  props: { product_id: id, ...extra },
})
const add = (user: string, id: string, days: number): Ev => ({ user, event: 'Product Added', at: ago(days), props: { product_id: id } })
const order = (user: string, ids: string[], days: number): Ev => ({
  user,
  event: 'Order Completed',
  at: ago(days),
  props: { order_id: `${user}-${days}`, revenue: 1, currency: 'EUR', products: ids.map((id) => ({ product_id: id, quantity: 1 })) },
})

const events: Ev[] = [
  // ann: viewed S1 twice and S2, then bought S2 → recently viewed is S1 only; favourite: shoes
  view('ann', 'S1', 3, { name: 'Old name', price: 999, category: 'shoes' }),
  view('ann', 'S1', 2.5),
  view('ann', 'S2', 2),
  order('ann', ['S2'], 1),
  // bob: B1+B2 bought together twice, B1+B3 once (all > 7 days ago: best sellers, not trending); then a cart
  order('bob', ['B1', 'B2'], 14),
  order('bob', ['B1', 'B2'], 12),
  order('bob', ['B1', 'B3'], 10),
  add('bob', 'K1', 0.5),
  // viewed together: B1 with B3 by two users, with B2 by one
  view('cy', 'B1', 5),
  view('cy', 'B2', 4),
  view('dee', 'B1', 5),
  view('dee', 'B3', 5),
  view('eve', 'B1', 6),
  view('eve', 'B3', 6),
  // gus: T1 exists only in events (latest event: new name and price, no image → the older image stays)
  view('gus', 'T1', 1, { name: 'Tee old', category: 'shirts', price: 20, image_url: 'old.jpg', currency: 'EUR' }),
  { user: 'gus', event: 'Product Viewed', at: ago(0.5), props: { sku: 'T1', name: 'Tee', category: 'shirts', price: '22' } },
  view('hal', 'S3', 1),
  // outside the 90-day window: neither behaviour nor co-occurrence
  order('old', ['S4', 'S6'], 120),
]

const catalog = [
  { product_id: 'S1', name: 'Runner', category: 'shoes', price: 100, currency: 'EUR', image_url: 's1.jpg', url: '/s1' },
  { product_id: 'S2', name: 'Trail', category: 'shoes', price: 110 },
  { product_id: 'S3', name: 'Court', category: 'shoes', price: 125 },
  { product_id: 'S4', name: 'Boot', category: 'shoes', price: 200 },
  { product_id: 'S5', name: 'Sandal', category: 'shoes', price: 90, in_stock: false },
  { product_id: 'S6', name: 'Slipper', category: 'shoes', price: 72 },
  { product_id: 'B1', name: 'Tote', category: 'bags', price: 50 },
  { product_id: 'B2', name: 'Clutch', category: 'bags', price: 55 },
  { product_id: 'B3', name: 'Backpack', category: 'bags', price: 60, attributes: { colour: 'red' } },
  { product_id: 'K1', name: 'Socks', category: 'socks', price: 10 },
]

const ids = (ps: { product_id: string }[]) => ps.map((p) => p.product_id)
const reasons = (ps: RecommendedProduct[]) => ps.map((p) => `${p.product_id}:${p.reason}`)

describe('recommendations on real data (chdb), injected clock', () => {
  const data = tempDataDir()
  let store: Store
  let svc: RecommendationService
  let loadStats: Awaited<ReturnType<RecommendationService['load']>>

  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    await store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: events.map((e, i) => ({
        ...trackRow({
          message_id: `m${String(i).padStart(3, '0')}`,
          user: e.user,
          event: e.event,
          at: e.at,
          properties: e.props,
          source: 'test',
        }),
        name: '',
        anonymous_id: '',
      })),
    })
    svc = new RecommendationService({ client: store.client, now: () => NOW })
    await svc.catalog.upsert(catalog)
    loadStats = await svc.load()
  })
  afterAll(async () => {
    await svc?.stop()
    await store?.close()
    data.remove()
  })

  it('loads the window of behaviour and the merged catalog', () => {
    expect(loadStats).toMatchObject({ events: events.length - 1, users: 7, products: 11 })
  })

  const cases: [string, string, BlockName, { productId?: string; limit?: number }, string[]][] = [
    // S1 (viewed, not bought); then best sellers (shoes trending: S2 bought, S1 taken; S3 trending)
    [
      'viewed, not purchased since, then fallbacks',
      'ann',
      'recently_viewed',
      {},
      ['S1:recently_viewed', 'S3:trending_in_category', 'B1:best_sellers', 'B2:best_sellers'],
    ],
    [
      'partners of an explicit product, most shared first',
      'nobody',
      'bought_together',
      { productId: 'B1' },
      ['B2:bought_together', 'B3:bought_together', 'S2:best_sellers', 'S1:trending'],
    ],
    [
      'partners of the user’s viewed products (the viewed ones themselves left out)',
      'cy',
      'bought_together',
      {},
      ['B3:bought_together', 'S2:best_sellers', 'S1:trending', 'T1:trending'],
    ],
    [
      'viewed by the same users',
      'nobody',
      'viewed_together',
      { productId: 'B1' },
      ['B3:viewed_together', 'B2:viewed_together', 'S2:best_sellers', 'S1:trending'],
    ],
    [
      'trending in the favourite category, bought ones left out',
      'ann',
      'trending_in_category',
      {},
      ['S1:trending_in_category', 'S3:trending_in_category', 'B1:best_sellers', 'B2:best_sellers'],
    ],
    [
      'trending everywhere without a favourite category',
      'nobody',
      'trending_in_category',
      {},
      ['S2:trending', 'B1:trending', 'B3:trending', 'S1:trending'],
    ],
    // S2 (viewed last, 110): S1 (−10) then S3 (+15); S5 out of stock; S2 bought. Then around S1 (100): S6 (−28)
    [
      'same category, ±30 % price, closest first, nothing bought',
      'ann',
      'similar',
      { limit: 5 },
      ['S1:similar', 'S3:similar', 'S6:similar', 'B1:best_sellers', 'B2:best_sellers'],
    ],
    ['similar to an explicit product', 'nobody', 'similar', { productId: 'B1', limit: 2 }, ['B2:similar', 'B3:similar']],
    [
      'no history: best sellers',
      'nobody',
      'recently_viewed',
      {},
      ['B1:best_sellers', 'B2:best_sellers', 'B3:best_sellers', 'S2:best_sellers'],
    ],
  ]
  it.each(cases)('%s (%s, %s)', (_, user, block, opts, expected) => {
    const got = svc.forUser(user, block, opts)
    expect(reasons(got)).toEqual(expected)
    expect(new Set(ids(got)).size).toBe(got.length)
  })

  it('a worker-only process (no onStored) reads a user’s behaviour from the store before a render: current, and never counted twice', async () => {
    const before = { recent: reasons(svc.forUser('ann', 'recently_viewed')), flags: svc.behavior('ann') }
    // Events another process stored after the load.
    const later: Ev[] = [view('wes', 'S3', 0.2), view('wes', 'S3', 0.1), view('wes', 'B2', 0.05), order('wes', ['B2'], 0.01)]
    await store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: later.map((e, i) => ({
        message_id: `w${i}`,
        source: 'test',
        type: 'track',
        event: e.event,
        name: '',
        user_id: e.user,
        anonymous_id: '',
        user_key: e.user,
        timestamp: e.at,
        received_at: e.at,
        properties: JSON.stringify(e.props),
        traits: '{}',
        context: '{}',
      })),
    })
    expect(svc.behavior('wes').purchases).toBe(0)
    for (let i = 0; i < 2; i++) {
      await svc.reloadUser('wes')
      expect(reasons(svc.forUser('wes', 'recently_viewed', { limit: 1 }))).toEqual(['S3:recently_viewed'])
      expect(svc.behavior('wes')).toMatchObject({ purchases: 1, most_viewed_product: { id: 'S3', views: 2 } })
    }
    // Reading a user the load already read changes nothing.
    await svc.reloadUser('ann')
    expect({ recent: reasons(svc.forUser('ann', 'recently_viewed')), flags: svc.behavior('ann') }).toEqual(before)
  })

  it('returns full catalog records', () => {
    const [s1] = svc.forUser('ann', 'recently_viewed', { limit: 1 })
    // The catalog API wins over what ann's event said (name "Old name", price 999).
    expect(s1).toEqual({
      id: 'S1',
      product_id: 'S1',
      name: 'Runner',
      category: 'shoes',
      price: 100,
      currency: 'EUR',
      image_url: 's1.jpg',
      url: '/s1',
      attributes: {},
      in_stock: true,
      source: 'catalog',
      updated_at: NOW,
      reason: 'recently_viewed',
    })
  })

  it('behaviour flags', () => {
    expect(svc.behavior('ann')).toEqual({
      abandoned_cart: false,
      viewed_categories: ['shoes'],
      favourite_category: 'shoes',
      most_viewed_product: { id: 'S1', views: 2 },
      days_since_purchase: 1,
      purchases: 1,
    })
    expect(svc.behavior('bob')).toEqual({
      abandoned_cart: true,
      viewed_categories: [],
      favourite_category: 'bags',
      most_viewed_product: null,
      days_since_purchase: 10,
      purchases: 3,
    })
    const none = {
      abandoned_cart: false,
      viewed_categories: [],
      favourite_category: null,
      most_viewed_product: null,
      days_since_purchase: null,
      purchases: 0,
    }
    expect(svc.behavior('nobody')).toEqual(none)
    // Events older than the window are not loaded.
    expect(svc.behavior('old')).toEqual(none)
  })

  it('products seen only in events are known from them; the catalog API wins', async () => {
    const [t1, s1] = await svc.catalog.get(['T1', 'S1', 'missing'])
    expect(t1).toEqual({
      id: 'T1',
      product_id: 'T1',
      name: 'Tee',
      category: 'shirts',
      price: 22,
      currency: 'EUR',
      image_url: 'old.jpg',
      url: '',
      attributes: {},
      in_stock: true,
      source: 'events',
      updated_at: ago(0.5),
    })
    expect(s1).toMatchObject({ product_id: 'S1', name: 'Runner', price: 100, source: 'catalog' })
    expect(ids(await svc.catalog.list({ category: 'shirts' }))).toEqual(['T1'])
    expect(ids(await svc.catalog.list({ category: 'shoes', limit: 2 }))).toEqual(['S1', 'S2'])
    expect((await svc.catalog.get(['B3']))[0]!.attributes).toEqual({ colour: 'red' })
    // Out of the window: S4 is in the catalog, S6 too; nothing event-derived from the old order.
    expect((await svc.catalog.list()).length).toBe(11)
  })

  it('an upsert replaces the product (the newest write wins)', async () => {
    await svc.upsertProducts([{ product_id: 'S4', name: 'Boot', category: 'shoes', price: 190, updated_at: NOW + 1 }])
    const [s4] = await svc.catalog.get(['S4'])
    expect(s4).toMatchObject({ price: 190, updated_at: NOW + 1 })
  })

  it('stored events are reflected at once, in behaviour and catalog', () => {
    expect(svc.behavior('zed').viewed_categories).toEqual([])
    svc.onStored([
      {
        userKey: 'zed',
        event: 'Product Viewed',
        timestamp: NOW - 1000,
        properties: { product_id: 'N1', name: 'Cap', category: 'hats', price: 15 },
      },
    ])
    expect(reasons(svc.forUser('zed', 'recently_viewed', { limit: 1 }))).toEqual(['N1:recently_viewed'])
    expect(svc.forUser('zed', 'recently_viewed', { limit: 1 })[0]).toMatchObject({ name: 'Cap', source: 'events' })
    expect(svc.behavior('zed')).toMatchObject({ viewed_categories: ['hats'], favourite_category: 'hats', abandoned_cart: false })
    svc.onStored([{ userKey: 'zed', event: 'Product Added', timestamp: NOW - 900, properties: { product_id: 'N1' } }])
    expect(svc.behavior('zed').abandoned_cart).toBe(true)
    svc.onStored([{ userKey: 'zed', event: 'Order Completed', timestamp: NOW - 500, properties: { products: [{ product_id: 'N1' }] } }])
    expect(svc.behavior('zed')).toMatchObject({ abandoned_cart: false, purchases: 1, days_since_purchase: 0 })
    expect(ids(svc.forUser('zed', 'recently_viewed'))).not.toContain('N1')
  })

  it('batches the load already read are not applied twice', () => {
    // The seeded rows are batch 0: a listener call for it is old news.
    svc.onStored([{ userKey: 'ann', event: 'Product Viewed', timestamp: ago(2.5), properties: { product_id: 'S1' } }], 0)
    expect(svc.behavior('ann').most_viewed_product).toEqual({ id: 'S1', views: 2 })
  })

  it('events stored while the index loads are kept', async () => {
    const other = new RecommendationService({ client: store.client, now: () => NOW })
    const loading = other.load()
    other.onStored([{ userKey: 'yan', event: 'Product Viewed', timestamp: NOW - 10, properties: { product_id: 'B2' } }], 7)
    await loading
    expect(reasons(other.forUser('yan', 'recently_viewed', { limit: 1 }))).toEqual(['B2:recently_viewed'])
    expect(other.behavior('ann').most_viewed_product).toEqual({ id: 'S1', views: 2 })
  })

  it('reads the same index in small pages as in one', async () => {
    const one = await loadBehavior(store.client, NOW)
    const paged = await loadBehavior(store.client, NOW, { pageSize: 2 })
    expect(one.pages).toBe(1)
    expect(paged.pages).toBeGreaterThan(events.length / 2 - 1)
    expect(paged.events).toBe(one.events)
    for (const user of ['ann', 'bob', 'cy', 'dee', 'eve', 'gus', 'hal']) expect(paged.index.user(user)).toEqual(one.index.user(user))
  })

  it('the timer refreshes the catalog; products known from events stay known in between full refreshes', async () => {
    await svc.catalog.upsert([{ product_id: 'K2', name: 'Wool socks', category: 'socks', price: 12, updated_at: NOW }])
    svc.onStored([
      { userKey: 'yul', event: 'Product Viewed', timestamp: NOW - 10, properties: { product_id: 'N2', name: 'Beanie', category: 'hats' } },
    ])
    svc.start(20)
    const deadline = Date.now() + 10_000
    while (!svc.forUser('nobody', 'similar', { productId: 'K1', limit: 1 }).some((p) => p.product_id === 'K2') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    await svc.stop()
    expect(reasons(svc.forUser('nobody', 'similar', { productId: 'K1', limit: 1 }))).toEqual(['K2:similar'])
    // Not re-read by this (not full) refresh: T1 from the load, N2 from a stored event.
    expect(svc.forUser('gus', 'recently_viewed', { limit: 1 })[0]).toMatchObject({
      product_id: 'T1',
      name: 'Tee',
      reason: 'recently_viewed',
    })
    expect(svc.forUser('yul', 'recently_viewed', { limit: 1 })[0]).toMatchObject({
      product_id: 'N2',
      name: 'Beanie',
      reason: 'recently_viewed',
    })
  })

  it('lookups are fast', () => {
    const blocks: BlockName[] = ['recently_viewed', 'bought_together', 'viewed_together', 'trending_in_category', 'similar']
    const started = performance.now()
    for (let i = 0; i < 2000; i++) for (const b of blocks) svc.forUser(['ann', 'bob', 'cy', 'nobody'][i % 4]!, b)
    expect((performance.now() - started) / 2000).toBeLessThan(1)
  })
})

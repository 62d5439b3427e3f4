import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_LOYALTY_TIERS, DEFAULT_RFM } from '../../segments/computedSql.js'
import { type CompileContext, compileScoped, compileSegment } from '../../segments/compile.js'
import type { Rule } from '../../segments/ruleSchema.js'
import { type Store, selectRows } from '../../clickhouse/store.js'
import { tempDataDir } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * Table-driven: given these events and traits (inserted as the ingest path stores them), at this
 * injected "now", the seed's segments have exactly these members.
 */
const NOW = Date.parse('2026-06-30T12:00:00.000Z')
const ago = (days: number, hours = 0) => NOW - days * 86_400_000 - hours * 3_600_000

type Ev = { user: string; anon?: string; event: string; at: number; props?: Record<string, unknown>; type?: string; name?: string }
const events: Ev[] = [
  // ann: viewed a product 3 days ago; engaged reader (4 opens, no click) ; VIP buyer in Norway
  { user: 'ann', event: 'Product Viewed', at: ago(3), props: { sku: 'A1', category: 'shoes', price: 120 } },
  ...[2, 5, 9, 20].map((d) => ({ user: 'ann', event: 'Email Opened', at: ago(d) })),
  { user: 'ann', event: 'Email Opened', at: ago(4), props: { automated: true } },
  ...[1, 10, 20, 40, 60].map((d) => ({ user: 'ann', event: 'Order Completed', at: ago(d), props: { revenue: 150, category: 'shoes' } })),
  // bob: viewed 10 days ago (outside 7 d); opened 3 and clicked once
  { user: 'bob', event: 'Product Viewed', at: ago(10), props: { sku: 'B2', category: 'bags' } },
  ...[1, 2, 3].map((d) => ({ user: 'bob', event: 'Email Opened', at: ago(d) })),
  { user: 'bob', event: 'Email Link Clicked', at: ago(1) },
  // cy: added to cart 30 h ago, no checkout → abandoned; dee: added then checked out within 24 h
  { user: 'cy', event: 'Product Added', at: ago(1, 6), props: { cartId: 'c-cy' } },
  { user: 'dee', event: 'Product Added', at: ago(1, 6), props: { cartId: 'c-dee' } },
  { user: 'dee', event: 'Order Completed', at: ago(1, 2), props: { cartId: 'c-dee', revenue: 40 } },
  // eve: added 2 h ago: the 24 h have not passed yet → not (yet) abandoned
  { user: 'eve', event: 'Product Added', at: ago(0, 2), props: { cartId: 'c-eve' } },
  // fay: checked out a *different* cart → her cart c-fay is still abandoned
  { user: 'fay', event: 'Product Added', at: ago(2), props: { cartId: 'c-fay' } },
  { user: 'fay', event: 'Order Completed', at: ago(2, -1), props: { cartId: 'c-other', revenue: 10 } },
  // gus: a lapsed VIP — big spender, last order 200 days ago, inactive since
  ...[200, 230, 260, 290, 320].map((d) => ({ user: 'gus', event: 'Order Completed', at: ago(d), props: { revenue: 400 } })),
  // anonymous browsing of hal before he signed in counts for hal
  { user: '', anon: 'anon-hal', event: 'Product Viewed', at: ago(1), props: { sku: 'H1' } },
]
const traits: [string, string, unknown][] = [
  ['ann', 'country', 'NO'],
  ['ann', 'age', 34],
  ['bob', 'country', 'SE'],
  ['bob', 'age', 19],
  ['cy', 'age', 41],
  ['gus', 'country', 'NO'],
  ['hal', 'age', 30],
]

describe('segment compiler on real data (chdb), injected clock', () => {
  const data = tempDataDir()
  let store: Store
  const ctx: CompileContext = {
    now: NOW,
    purchaseEvent: 'Order Completed',
    rfm: DEFAULT_RFM,
    loyaltyTiers: DEFAULT_LOYALTY_TIERS,
    consentDefaults: { tracking: true, marketing: true, transactional: true },
  }
  const members = async (rule: Rule) => {
    const q = compileSegment(rule, ctx)
    const rows = await selectRows<{ user_key: string }>(store.client, q.sql, q.params)
    return rows.map((r) => r.user_key).sort()
  }

  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    await store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: events.map((e, i) => ({
        message_id: `m${i}`,
        source: 'test',
        type: e.type ?? 'track',
        event: e.event,
        name: e.name ?? '',
        user_id: e.user,
        anonymous_id: e.anon ?? '',
        user_key: e.user || e.anon,
        timestamp: e.at,
        received_at: e.at,
        properties: JSON.stringify(e.props ?? {}),
        traits: '{}',
        context: '{}',
      })),
    })
    await store.client.insert({
      table: 'traits',
      format: 'JSONEachRow',
      values: traits.map(([user, key, value]) => ({
        user_key: user,
        key,
        value: JSON.stringify(value),
        updated_at: ago(100),
        message_id: '',
      })),
    })
    await store.client.insert({
      table: 'identities',
      format: 'JSONEachRow',
      values: [{ user_id: 'hal', anonymous_id: 'anon-hal', kind: 'identify', linked_at: ago(0, 1) }],
    })
    await store.client.insert({
      table: 'consent',
      format: 'JSONEachRow',
      values: [{ user_key: 'bob', topic: 'marketing', granted: 0, changed_at: ago(5), source: 'api', recorded_at: ago(5) }],
    })
  })
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  const cases: [string, Rule, string[]][] = [
    [
      'viewed a product within 7 days (anonymous history included)',
      { performed: { event: 'Product Viewed', within: '7d' } },
      ['ann', 'hal'],
    ],
    [
      'opened ≥ 3 emails in the last month but did not click (machine opens excluded)',
      {
        and: [
          { engagement: { action: 'opened', count: { gte: 3 }, within: '30d' } },
          { not: { engagement: { action: 'clicked', within: '30d' } } },
        ],
      },
      ['ann'],
    ],
    [
      'added to cart, no checkout of that cart within 24 h',
      { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h', sameProperty: 'cartId' } },
      ['cy', 'fay'],
    ],
    [
      'recent high-value customers in a region',
      {
        and: [
          { trait: { key: 'country', op: 'eq', value: 'NO' } },
          { computed: { property: 'days_since_last_order', op: 'lte', value: 30 } },
          { computed: { property: 'ltv', op: 'gte', value: 500 } },
        ],
      },
      ['ann'],
    ],
    [
      'engaged users in an age group',
      { and: [{ trait: { key: 'age', op: 'between', value: [25, 45] } }, { performed: { event: 'Product Viewed', within: '30d' } }] },
      ['ann', 'hal'],
    ],
    [
      'lapsed VIPs for re-engagement',
      {
        and: [{ computed: { property: 'ltv', op: 'gte', value: 1000 } }, { computed: { property: 'days_inactive', op: 'gte', value: 90 } }],
      },
      ['gus'],
    ],
    [
      'did not view anything in 7 days (users without events included)',
      { not: { performed: { event: 'Product Viewed', within: '7d' } } },
      ['bob', 'cy', 'dee', 'eve', 'fay', 'gus'],
    ],
    [
      'property filter: viewed shoes priced over 100',
      {
        performed: {
          event: 'Product Viewed',
          where: [
            { path: 'category', op: 'eq', value: 'shoes' },
            { path: 'price', op: 'gt', value: 100 },
          ],
        },
      },
      ['ann'],
    ],
    [
      'at most 1 order ever (count lte)',
      { and: [{ performed: { event: 'Order Completed', count: { lte: 1 } } }, { trait: { key: 'age', op: 'exists' } }] },
      ['bob', 'cy', 'hal'],
    ],
    ['consent: marketing withheld', { consent: { topic: 'marketing', granted: false } }, ['bob']],
    ['rfm tier vip', { computed: { property: 'rfm_tier', op: 'eq', value: 'vip' } }, ['ann']],
    ['loyalty tier platinum', { computed: { property: 'loyalty_tier', op: 'in', value: ['platinum'] } }, ['gus']],
    ['favourite category', { computed: { property: 'favourite_category', op: 'eq', value: 'bags' } }, ['bob']],
    [
      'a sequence of an event with itself: a lone event is not cancelled by itself',
      { sequence: { first: { event: 'Product Viewed' }, then: { event: 'Product Viewed' }, within: '1h' } },
      ['ann', 'bob', 'hal'],
    ],
    [
      'or of traits',
      { or: [{ trait: { key: 'country', op: 'eq', value: 'SE' } }, { trait: { key: 'age', op: 'gt', value: 40 } }] },
      ['bob', 'cy'],
    ],
  ]
  it.each(cases)('%s', async (_name, rule, expected) => {
    expect(await members(rule)).toEqual(expected)
  })

  it('all segments at once for some users (the real-time query) agrees with each full result', async () => {
    const users = ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal']
    const q = compileScoped(
      cases.map(([, rule]) => rule),
      ctx,
      { users, keys: [...users, 'anon-hal'] },
    )
    const rows = await selectRows<Record<string, string | number>>(store.client, q.sql, q.params)
    cases.forEach(([name, , expected], i) => {
      const got = rows
        .filter((r) => Number(r[`s${i}`]) === 1)
        .map((r) => String(r.user_key))
        .sort()
      expect(got, name).toEqual(expected)
    })
  })

  it('incremental evaluation for some users agrees with the full result', async () => {
    const rule: Rule = {
      sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h', sameProperty: 'cartId' },
    }
    const q = compileSegment(rule, ctx, { users: ['cy', 'dee', 'eve'], keys: ['cy', 'dee', 'eve'] })
    expect((await selectRows<{ user_key: string }>(store.client, q.sql, q.params)).map((r) => r.user_key)).toEqual(['cy'])
    const hal = compileSegment({ performed: { event: 'Product Viewed', within: '7d' } }, ctx, { users: ['hal'], keys: ['hal', 'anon-hal'] })
    expect((await selectRows<{ user_key: string }>(store.client, hal.sql, hal.params)).map((r) => r.user_key)).toEqual(['hal'])
  })

  it('binds every value: no literal from the rule appears in the SQL text', () => {
    const q = compileSegment(
      {
        and: [
          { trait: { key: "country'; DROP TABLE events; --", op: 'eq', value: 'NO' } },
          { performed: { event: 'Robert"); DROP', within: '7d' } },
        ],
      },
      ctx,
    )
    expect(q.sql).not.toContain('DROP')
    expect(Object.values(q.params)).toContain("country'; DROP TABLE events; --")
  })
})

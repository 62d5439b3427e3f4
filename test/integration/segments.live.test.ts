import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConsentState } from '../../ingest/identity/consentState.js'
import { EventWriter } from '../../ingest/eventWriter.js'
import { NO_DROP } from '../../ingest/minimize.js'
import { normalizeEvent } from '../../ingest/normalize.js'
import { type CompileContext, compileSegment } from '../../segments/compile.js'
import { DEFAULT_LOYALTY_TIERS, DEFAULT_RFM } from '../../segments/computedSql.js'
import { type LiveContext, compileLive } from '../../segments/live/evaluateFacts.js'
import { LiveFacts } from '../../segments/live/liveFacts.js'
import type { Rule } from '../../segments/ruleSchema.js'
import { type Store, selectRows } from '../../clickhouse/store.js'
import { segmentEvent } from '../../ingest/segmentSpec.js'
import { createContactCipher } from '../../core/contactCipher.js'
import { tempDataDir } from '../helpers/harness.js'
import { seededRandom } from '../helpers/random.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * Differential: the live evaluator (facts in memory) must say exactly what the compiled SQL says,
 * for every kind of leaf and operator, on awkward data (numbers in strings, nulls, booleans as
 * numbers, nested properties, anonymous history, re-links, consent, withheld tracking) — both
 * when the facts were followed batch by batch from the writer and when they were loaded from
 * the store. Random but seeded: a failure reproduces.
 */
const NOW = Date.now()
const DAY = 86_400_000

const rand = seededRandom(20261128)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!

const ODD = [10, '25', 'abc', null, 1.5, true, '1e2', ' 3', 0, -4, 'Shoes', '', 'Infinity', [1, 2], { a: 1 }] as const
const CATEGORIES = ['shoes', 'bags', 'Hats', '', 'bags'] as const
const EVENTS = [
  'Product Viewed',
  'Product Viewed',
  'Product Added',
  'Order Completed',
  'Email Opened',
  'Email Opened',
  'Email Link Clicked',
  'Signed Up',
] as const
const USERS = Array.from({ length: 60 }, (_, i) => `u${i}`)
const ANONS = Array.from({ length: 20 }, (_, i) => `a${i}`)
// The last five anonymous ids are never linked: they stay users of their own.
const LINKABLE = ANONS.slice(0, 15)

const rules: [string, Rule][] = [
  ['viewed within 7d', { performed: { event: 'Product Viewed', within: '7d' } }],
  ['viewed ≥ 3 within 30d', { performed: { event: 'Product Viewed', within: '30d', count: { gte: 3 } } }],
  ['viewed at most once ever', { performed: { event: 'Product Viewed', count: { lte: 1 } } }],
  [
    'viewed between dates',
    {
      performed: {
        event: 'Product Viewed',
        between: { from: new Date(NOW - 20 * DAY).toISOString(), to: new Date(NOW - 5 * DAY).toISOString() },
      },
    },
  ],
  ['page by name', { performed: { type: 'page', event: 'Home' } }],
  ['any page within 14d', { performed: { type: 'page', within: '14d' } }],
  ['identify ever', { performed: { type: 'identify' } }],
  ['price eq 10', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'eq', value: 10 }] } }],
  ['price eq "25"', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'eq', value: '25' }] } }],
  ['price neq 10', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'neq', value: 10 }] } }],
  ['price gt 5', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'gt', value: 5 }] } }],
  ['price lte 1.5', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'lte', value: 1.5 }] } }],
  ['price between 2 and 100', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'between', value: [2, 100] }] } }],
  ['price in [10, 100]', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'in', value: [10, 100] }] } }],
  [
    'price not_in ["abc", "25"]',
    { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'not_in', value: ['abc', '25'] }] } },
  ],
  ['price eq true', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'eq', value: true }] } }],
  ['price exists', { performed: { event: 'Product Viewed', where: [{ path: 'price', op: 'exists' }] } }],
  ['category contains "HO"', { performed: { event: 'Product Viewed', where: [{ path: 'category', op: 'contains', value: 'HO' }] } }],
  ['nested item.size gte 40', { performed: { event: 'Product Added', where: [{ path: 'item.size', op: 'gte', value: 40 }] } }],
  ['nested item.color in', { performed: { event: 'Product Added', where: [{ path: 'item.color', op: 'in', value: ['red', 'blue'] }] } }],
  ['opened ≥ 2 in 30d, machine opens excluded', { engagement: { action: 'opened', within: '30d', count: { gte: 2 } } }],
  [
    'opened ≥ 2 in 30d, machine opens included',
    { engagement: { action: 'opened', within: '30d', count: { gte: 2 }, includeAutomated: true } },
  ],
  ['opened but no click', { and: [{ engagement: { action: 'opened' } }, { not: { engagement: { action: 'clicked', within: '30d' } } }] }],
  [
    'cart abandoned (same cart)',
    { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h', sameProperty: 'cartId' } },
  ],
  [
    'cart abandoned (any order), 10d lookback',
    { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '2d', lookback: '10d' } },
  ],
  [
    'not cart abandoned',
    { not: { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h', sameProperty: 'cartId' } } },
  ],
  ['age between 25 and 45', { trait: { key: 'age', op: 'between', value: [25, 45] } }],
  ['age neq 30', { trait: { key: 'age', op: 'neq', value: 30 } }],
  ['age exists', { trait: { key: 'age', op: 'exists' } }],
  ['age not_exists', { trait: { key: 'age', op: 'not_exists' } }],
  ['country in NO/SE', { trait: { key: 'country', op: 'in', value: ['NO', 'SE'] } }],
  ['country starts_with "n"', { trait: { key: 'country', op: 'starts_with', value: 'N' } }],
  ['vip eq true', { trait: { key: 'vip', op: 'eq', value: true } }],
  ['vip neq "true"', { trait: { key: 'vip', op: 'neq', value: 'true' } }],
  ['marketing consent granted (default granted)', { consent: { topic: 'marketing', granted: true } }],
  ['marketing consent withheld', { consent: { topic: 'marketing', granted: false } }],
  ['sms consent granted (default withheld)', { consent: { topic: 'sms', granted: true } }],
  ['ltv ≥ 100', { computed: { property: 'ltv', op: 'gte', value: 100 } }],
  ['orders ≥ 2', { computed: { property: 'order_count', op: 'gte', value: 2 } }],
  ['aov between 10 and 60', { computed: { property: 'average_order_value', op: 'between', value: [10, 60] } }],
  ['days inactive ≥ 10', { computed: { property: 'days_inactive', op: 'gte', value: 10 } }],
  ['days since last order ≤ 7', { computed: { property: 'days_since_last_order', op: 'lte', value: 7 } }],
  ['event count ≥ 8', { computed: { property: 'event_count', op: 'gte', value: 8 } }],
  ['last seen after 3 days ago', { computed: { property: 'last_seen', op: 'gte', value: new Date(NOW - 3 * DAY).toISOString() } }],
  ['first seen before 30 days ago', { computed: { property: 'first_seen', op: 'lt', value: new Date(NOW - 30 * DAY).toISOString() } }],
  ['favourite category bags', { computed: { property: 'favourite_category', op: 'eq', value: 'bags' } }],
  ['favourite category exists', { computed: { property: 'favourite_category', op: 'exists' } }],
  ['r score ≥ 4', { computed: { property: 'r_score', op: 'gte', value: 4 } }],
  ['f score ≥ 3', { computed: { property: 'f_score', op: 'gte', value: 3 } }],
  ['m score ≥ 3', { computed: { property: 'm_score', op: 'gte', value: 3 } }],
  ['rfm tier in', { computed: { property: 'rfm_tier', op: 'in', value: ['vip', 'loyal', 'new', 'regular'] } }],
  ['loyalty tier silver', { computed: { property: 'loyalty_tier', op: 'eq', value: 'silver' } }],
  [
    'nested and/or/not',
    {
      or: [
        { and: [{ performed: { event: 'Product Viewed', within: '7d' } }, { not: { trait: { key: 'country', op: 'eq', value: 'NO' } } }] },
        { and: [{ computed: { property: 'order_count', op: 'gte', value: 1 } }, { consent: { topic: 'marketing', granted: true } }] },
      ],
    },
  ],
  ['not (age gt 30)', { not: { trait: { key: 'age', op: 'gt', value: 30 } } }],
]

function rawEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  let n = 0
  const at = () => new Date(NOW - Math.floor(rand() * 45 * DAY)).toISOString()
  const who = () =>
    rand() < 0.15
      ? { anonymousId: pick(ANONS) }
      : rand() < 0.1
        ? { userId: pick(USERS), anonymousId: pick(LINKABLE) }
        : { userId: pick(USERS) }
  for (let i = 0; i < 900; i++) {
    const event = pick(EVENTS)
    const properties: Record<string, unknown> = { category: pick(CATEGORIES), price: pick(ODD) }
    if (event === 'Product Added' || event === 'Order Completed') properties.cartId = `c${Math.floor(rand() * 40)}`
    if (event === 'Product Added')
      properties.item = rand() < 0.5 ? { size: pick([38, '42', 'L', null]), color: pick(['red', 'green', 'blue']) } : pick(['flat', 7])
    if (event === 'Order Completed')
      Object.assign(properties, rand() < 0.6 ? { revenue: pick([20, 35.5, '60', 'x', null, 300]) } : { total: pick([15, '45', 120]) })
    if (event === 'Email Opened' || event === 'Email Link Clicked') properties.automated = pick([true, false, 1, 'true', 0])
    out.push({ type: 'track', event, properties, timestamp: at(), messageId: `t${n++}`, ...who() })
  }
  for (let i = 0; i < 120; i++)
    out.push({
      type: 'page',
      name: pick(['Home', 'Cart', 'Home']),
      properties: { path: '/' },
      timestamp: at(),
      messageId: `p${n++}`,
      ...who(),
    })
  for (let i = 0; i < 90; i++) {
    const traits: Record<string, unknown> = {}
    if (rand() < 0.8) traits.age = pick([25, '31', 44, 'abc', null, true, 30, 52, '40'])
    if (rand() < 0.7) traits.country = pick(['NO', 'SE', 'se', 'DK', 5, 'Norway'])
    if (rand() < 0.4) traits.vip = pick([true, 'true', 1, false])
    out.push({
      type: 'identify',
      userId: pick(USERS),
      ...(rand() < 0.3 ? { anonymousId: pick(LINKABLE) } : {}),
      traits,
      timestamp: at(),
      messageId: `i${n++}`,
    })
  }
  // Identifies come in order of time, as links do in life; everything else in random order.
  return out.sort(() => rand() - 0.5)
}

describe('live segment facts agree with the compiled SQL', () => {
  const data = tempDataDir()
  let store: Store
  let followed: LiveFacts
  let loaded: LiveFacts
  let extended: LiveFacts
  let writer: EventWriter
  const ctx: CompileContext & LiveContext = {
    now: NOW,
    purchaseEvent: 'Order Completed',
    rfm: { recencyDays: [3, 7, 14, 30], frequency: [1, 2, 3, 4], monetary: [20, 50, 100, 200] },
    loyaltyTiers: DEFAULT_LOYALTY_TIERS,
    consentDefaults: { tracking: true, marketing: true, sms: false },
    isMember: () => false,
  }

  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    writer = new EventWriter({
      client: store.client,
      consent: new ConsentState(ctx.consentDefaults),
      cipher: createContactCipher(Buffer.alloc(32, 1)),
      lookupKey: Buffer.alloc(32, 2),
      maxBatchRows: 200,
      lingerMs: 0,
      maxQueuedRows: 100_000,
      dedupeWindow: 10_000,
    })
    followed = new LiveFacts(store.client, ctx.purchaseEvent, () => writer.storedSeq)
    await followed.rebuild(
      rules.map(([, r]) => r),
      NOW,
    )
    const reload = new Set<string>()
    writer.onStored((events, consent, rows) => {
      for (const u of followed.apply(events, rows, consent, NOW).reload) reload.add(u)
    })
    const raws = rawEvents()
    for (let i = 0; i < raws.length; i += 100) {
      const events = raws
        .slice(i, i + 100)
        .map((r) => normalizeEvent(segmentEvent.parse(r), { source: 'test', receivedAt: NOW, dropKey: NO_DROP, consentCategoryMap: {} }))
      const consent = Array.from({ length: 8 }, () => ({
        userKey: rand() < 0.8 ? pick(USERS) : pick(ANONS),
        topic: pick(['marketing', 'sms', 'tracking']),
        granted: rand() < 0.5,
        changedAt: NOW - Math.floor(rand() * 40 * DAY),
        source: 'api' as const,
      }))
      await writer.write({ events, consent })
    }
    await writer.close()
    // An id that moved from one user to another is read again from the store.
    await followed.reload([...reload], NOW)
    loaded = new LiveFacts(store.client, ctx.purchaseEvent, () => writer.storedSeq)
    await loaded.rebuild(
      rules.map(([, r]) => r),
      NOW,
    )
    // As when segments are added one by one: each loads only the columns it adds.
    extended = new LiveFacts(store.client, ctx.purchaseEvent, () => writer.storedSeq)
    await extended.rebuild([], NOW)
    for (const [, r] of rules) await extended.extend([r], NOW)
  })
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  const live = (facts: LiveFacts, rule: Rule) => {
    const pred = compileLive(rule, facts.plan)
    return [...facts.universe()].filter((u) => pred(u, facts.factsOf(u), ctx) === true).sort()
  }

  it.each(rules)('%s', async (_name, rule) => {
    const q = compileSegment(rule, ctx)
    const sql = (await selectRows<{ user_key: string }>(store.client, q.sql, q.params)).map((r) => r.user_key).sort()
    expect(live(loaded, rule)).toEqual(sql)
    expect(live(followed, rule)).toEqual(sql)
    expect(live(extended, rule)).toEqual(sql)
  })

  it('the data exercises the rules: most select some users but not all', async () => {
    const universe = [...loaded.universe()].length
    expect(universe).toBeGreaterThan(60)
    const sizes = rules.map(([, r]) => live(loaded, r).length)
    expect(sizes.filter((n) => n > 0 && n < universe).length).toBeGreaterThan(rules.length * 0.8)
    const [row] = await selectRows<{ limited: number }>(store.client, 'SELECT countIf(consent_limited = 1) AS limited FROM events')
    expect(Number(row?.limited)).toBeGreaterThan(0) // some rows were stored without properties
  })
})

describe('live facts load while ingest goes on', () => {
  const data = tempDataDir()
  let store: Store
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  it('batches stored while a new rule loads are counted exactly once (neither lost nor doubled)', async () => {
    store = await openMigratedStore(data.dir)
    const writer = new EventWriter({
      client: store.client,
      consent: new ConsentState({ tracking: true }),
      cipher: createContactCipher(Buffer.alloc(32, 1)),
      lookupKey: Buffer.alloc(32, 2),
      maxBatchRows: 50,
      lingerMs: 0,
      maxQueuedRows: 10_000,
      dedupeWindow: 10_000,
    })
    // The loader's queries wait at a gate we open, so batches are stored after the load began
    // and before its snapshot: they are in the store *and* replayed — the case to get right.
    let open: () => void = () => {}
    const gate = new Promise<void>((r) => (open = r))
    let gated = 0
    const client = new Proxy(store.client, {
      get(target, prop, receiver) {
        if (prop === 'query') return async (...args: Parameters<typeof target.query>) => (gated++, await gate, target.query(...args))
        return Reflect.get(target, prop, receiver)
      },
    })
    const facts = new LiveFacts(client, 'Order Completed', () => writer.storedSeq)
    writer.onStored((events, consent, rows) => void facts.apply(events, rows, consent, Date.now()))
    const send = (n: number, from: number) =>
      writer.write({
        events: Array.from({ length: n }, (_, i) =>
          normalizeEvent(
            segmentEvent.parse({
              type: 'track',
              event: 'Products Searched',
              userId: `s${((from + i) * (from + i)) % 7}`,
              messageId: `q${from + i}`,
            }),
            {
              source: 'test',
              receivedAt: Date.now(),
              dropKey: NO_DROP,
              consentCategoryMap: {},
            },
          ),
        ),
      })
    await send(20, 0) // before the load: in the store, read by the load
    // k² mod 7 over 35 messages: s0 searches 5 times, s1, s2 and s4 10 times each. Exact counts:
    // one event lost or doubled moves its user out.
    const rules: Rule[] = [
      { performed: { event: 'Products Searched', count: { gte: 5, lte: 5 } } },
      { performed: { event: 'Products Searched', count: { gte: 10, lte: 10 } } },
    ]
    const loading = facts.extend(rules, Date.now())
    await send(9, 20) // while the load waits at the gate: stored, and replayed
    const early = await Promise.race([
      loading.then(
        () => 'done',
        (e) => String(e),
      ),
      new Promise((r) => setTimeout(() => r('waiting'), 50)),
    ])
    expect(early).toBe('waiting')
    expect(gated).toBeGreaterThan(0)
    open()
    await loading
    await send(6, 29) // after: followed live
    await writer.close()

    const ctx: LiveContext & CompileContext = {
      now: Date.now(),
      purchaseEvent: 'Order Completed',
      rfm: DEFAULT_RFM,
      loyaltyTiers: DEFAULT_LOYALTY_TIERS,
      consentDefaults: {},
      isMember: () => false,
    }
    for (const rule of rules) {
      const q = compileSegment(rule, ctx)
      const sql = (await selectRows<{ user_key: string }>(store.client, q.sql, q.params)).map((r) => r.user_key).sort()
      const pred = compileLive(rule, facts.plan)
      expect([...facts.universe()].filter((u) => pred(u, facts.factsOf(u), ctx)).sort()).toEqual(sql)
    }
    const sizes = rules.map((rule) => {
      const pred = compileLive(rule, facts.plan)
      return [...facts.universe()].filter((u) => pred(u, facts.factsOf(u), ctx)).length
    })
    expect(sizes).toEqual([1, 3])
  })
})

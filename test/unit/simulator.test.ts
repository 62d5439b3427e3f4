import { randomBytes } from 'node:crypto'
import nodemailer from 'nodemailer'
import { describe, expect, it } from 'vitest'
import { composeMessage } from '../../delivery/composeMessage.js'
import { type CapturedListing, EventBatcher } from '../../demo/simulator/client.js'
import { MailWatcher, cartIdsIn, clickTarget, parseMail, parseReceivedAt, unsubscribeUrl } from '../../demo/simulator/engagement.js'
import {
  type CartPlan,
  type ReceivedMail,
  type ShopperPlan,
  type ShopperState,
  armOf,
  contentVariantOf,
  expectedArms,
  mailKindOf,
  orderProperties,
  planSimulation,
  plannedEventSequence,
  reactToMail,
} from '../../demo/simulator/model.js'
import { renderProgress } from '../../demo/simulator/progress.js'
import { Random } from '../../demo/simulator/random.js'
import { type ScenarioInput, parseScenario, reminderPurchaseGivenClick, simMinutesToMs } from '../../demo/simulator/scenario.js'
import { scenarioFromArgs } from '../../scripts/simulate.js'

const scenario = (over: ScenarioInput = {}) => parseScenario({ seed: 7, shoppers: 200, ...over })

describe('simulator: scenario', () => {
  it('every knob has a default; the defaults encode "15 min beats 1 h by 3 pp"', () => {
    const s = parseScenario({})
    expect(s).toMatchObject({ seed: 1, shoppers: 100, timeScale: { minutesPerSecond: 10 }, effects: { baseConversion: 0.1 } })
    const [m15, h1, none] = expectedArms(s)
    expect(m15!.expectedConversion - h1!.expectedConversion).toBeCloseTo(0.03, 10)
    expect(none).toMatchObject({ name: 'none', expectedConversion: 0.1 })
    // The purchase-after-click that realizes a lift through open → click: lift / ((1 − base) · open · click).
    expect(reminderPurchaseGivenClick(s, 0.08)).toBeCloseTo(0.08 / (0.9 * 0.5 * 0.4), 10)
    expect(simMinutesToMs(s, 15)).toBe(1500)
  })

  it('names each bad knob', () => {
    expect(() => parseScenario({ effects: { reminderArms: [{ name: 'a', delayMinutes: 15, lift: 0.5 }] } })).toThrow(
      /effects\.reminderArms\.0\.lift/,
    )
    expect(() =>
      parseScenario({
        effects: {
          reminderArms: [
            { name: 'a', delayMinutes: 30, lift: 0 },
            { name: 'b', delayMinutes: 10, lift: 0 },
          ],
        },
      }),
    ).toThrow(/reminderArms\.1\.delayMinutes/)
    expect(() => parseScenario({ behavior: { sessions: { min: 3, max: 1 } } })).toThrow(/behavior\.sessions\.max/)
    expect(() => parseScenario({ races: { duplicateCart: { rate: 2 } } })).toThrow(/races\.duplicateCart\.rate/)
    expect(() => parseScenario({ effects: { contentVariants: [{ name: 'x', subjectPattern: '(', revenueMultiplier: 1 }] } })).toThrow(
      /subjectPattern/,
    )
  })

  it('the CLI maps its flags and --set onto knobs', () => {
    const { scenario: s } = scenarioFromArgs([
      '--shoppers',
      '500',
      '--seed',
      '7',
      '--minutes-per-second',
      '120',
      '--set',
      'races.duplicateCart.rate=0.2',
      '--set',
      'identity.userIdPrefix=demo',
    ])
    expect(parseScenario(s)).toMatchObject({
      shoppers: 500,
      seed: 7,
      timeScale: { minutesPerSecond: 120 },
      races: { duplicateCart: { rate: 0.2 } },
      identity: { userIdPrefix: 'demo' },
    })
  })
})

describe('simulator: the pure model', () => {
  it('is deterministic: the same seed gives the same event sequence, another seed another', () => {
    const a = plannedEventSequence(planSimulation(scenario(), 'run1'))
    const b = plannedEventSequence(planSimulation(scenario(), 'run1'))
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(a.length).toBeGreaterThan(1000)
    const c = plannedEventSequence(planSimulation(scenario({ seed: 8 }), 'run1'))
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a))
    // A shopper's plan does not depend on how many others there are (streams per shopper).
    const few = planSimulation(scenario({ shoppers: 5 }), 'run1')
    expect(JSON.stringify(few.shoppers[3])).toBe(JSON.stringify(planSimulation(scenario(), 'run1').shoppers[3]))
  })

  it('shoppers browse, search, add to carts, buy and open tickets with the Segment spec’s fields', () => {
    const plan = planSimulation(scenario({ shoppers: 400, behavior: { supportTicketRate: 0.3 } }), 'r')
    const events = plannedEventSequence(plan).map((x) => x.event)
    const named = (n: string) => events.filter((e) => e.event === n)
    const types = new Set(events.map((e) => (e.type === 'track' ? e.event : e.type)))
    expect([...types].sort()).toEqual(
      ['Order Completed', 'Product Added', 'Product Viewed', 'Products Searched', 'Support Ticket Opened', 'identify', 'page'].sort(),
    )
    for (const e of named('Product Viewed'))
      expect(Object.keys(e.properties!)).toEqual(expect.arrayContaining(['product_id', 'name', 'category', 'price', 'image_url', 'url']))
    for (const e of named('Product Added'))
      expect(Object.keys(e.properties!)).toEqual(
        expect.arrayContaining(['cart_id', 'product_id', 'name', 'price', 'image_url', 'cart_url']),
      )
    for (const e of named('Order Completed')) {
      const p = e.properties as { order_id: string; cart_id: string; products: { price: number }[]; revenue: number }
      expect(p.order_id).toBeTruthy()
      expect(p.cart_id).toBeTruthy()
      expect(p.revenue).toBeCloseTo(
        p.products.reduce((s, x) => s + x.price, 0),
        2,
      )
    }
    for (const e of events.filter((x) => x.type === 'identify' && x.traits))
      expect(Object.keys(e.traits!)).toEqual(expect.arrayContaining(['email', 'first_name', 'locale', 'timezone']))
    // Anonymous browsing first: events before the identify carry the anonymousId only, and the identify links both.
    const anonymous = plan.shoppers.find((sh) => sh.steps[0]!.label === 'browse')!
    expect(anonymous.steps[0]!.events[0]).not.toHaveProperty('userId')
    expect(anonymous.steps[1]!.events[0]).toMatchObject({
      type: 'identify',
      userId: anonymous.profile.userId,
      anonymousId: anonymous.profile.anonymousId,
    })
    // Message ids are unique except for the injected retries.
    const ids = events.map((e) => e.messageId)
    const resends = plannedEventSequence(plan).filter((x) => x.race === 'duplicateMessageId').length
    expect(new Set(ids).size).toBe(ids.length - resends)
  })

  it('injects each race at about its rate, shaped as it should be', () => {
    const s = scenario({
      shoppers: 4000,
      behavior: { cartRate: 1, checkoutInSession: 0 },
      races: {
        purchaseBeforeReminder: { rate: 0.1, leadMs: 3 },
        duplicateCart: { rate: 0.1 },
        optOutMidJourney: { rate: 0.1 },
        staleEvent: { rate: 0.05, daysAgo: 30 },
        duplicateMessageId: { rate: 0.02 },
        testAccount: { rate: 0.01, ids: ['qa-1', 'qa-2', 'qa-3'] },
      },
    })
    const plan = planSimulation(s, 'r')
    const steps = plan.shoppers.flatMap((sh) => sh.steps.map((step) => ({ sh, step })))
    const count = (race: string) => steps.filter((x) => x.step.race === race).length
    const near = (n: number, expected: number) => expect(Math.abs(n - expected)).toBeLessThan(4 * Math.sqrt(expected) + 2)
    near(count('purchaseBeforeReminder'), 400)
    near(count('duplicateCart'), 400)
    near(count('optOutMidJourney'), 0.9 * 400) // only carts not already raced by a purchase
    near(count('staleEvent'), 200)
    const race = steps.find((x) => x.step.race === 'purchaseBeforeReminder')!.step
    expect(race).toMatchObject({ immediate: true, anchor: { minutes: 15, leadMs: 3 }, requiresOpenCart: race.anchor!.cartId })
    expect(race.events[0]).toMatchObject({ event: 'Order Completed', properties: { cart_id: race.anchor!.cartId } })
    const optOut = steps.find((x) => x.step.race === 'optOutMidJourney')!.step
    expect(optOut.events[0]).toMatchObject({ type: 'identify', context: { consent: { categoryPreferences: { marketing: false } } } })
    const dupCart = steps.find((x) => x.step.race === 'duplicateCart')!
    const original = dupCart.sh.steps.find((x) => x.label === 'cart')!.events[0]!
    expect(dupCart.step.events[0]!.properties).toEqual(original.properties)
    expect(dupCart.step.events[0]!.messageId).not.toBe(original.messageId)
    const resend = steps.find((x) => x.step.race === 'duplicateMessageId')!
    expect(resend.step.resend).toBe(true)
    expect(resend.sh.steps.filter((x) => x.events.some((e) => e.messageId === resend.step.events[0]!.messageId))).toHaveLength(2)
    const stale = steps.find((x) => x.step.race === 'staleEvent')!.step
    expect(stale.staleDays).toBe(30)
    expect(stale.events.map((e) => e.event)).toEqual(['Product Viewed', 'Product Added'])
    const tests = plan.shoppers.filter((sh) => sh.profile.test).map((sh) => sh.profile.userId)
    expect(tests.sort()).toEqual(['qa-1', 'qa-2', 'qa-3'])
  })
})

describe('simulator: reacting to mail, and the ground truth it realizes', () => {
  const reminderFor = (cart: CartPlan, receivedAt: number, over: Partial<ReceivedMail> = {}): ReceivedMail => ({
    messageId: `m-${cart.cartId}-${receivedAt}`,
    subject: 'Ada, your cart is waiting',
    receivedAt,
    test: false,
    cartIds: [cart.cartId],
    pixelUrl: 'http://nudge/t/o/x.y',
    links: [
      { url: 'http://nudge/t/c/a.b', target: 'https://shop.example/p/1' },
      { url: 'http://nudge/t/c/c.d', target: `https://shop.example/cart?cart_id=${cart.cartId}` },
    ],
    unsubscribeUrl: 'http://nudge/u/t.k',
    ...over,
  })
  const freshState = (cart: CartPlan, addedAt: number): ShopperState => ({ carts: new Map([[cart.cartId, { addedAt, reminders: [] }]]) })
  const abandonedOf = (sh: ShopperPlan) => sh.carts.find((c) => c.kind === 'abandoned' && !c.races.length)

  it('reads the arm from when the reminder came; the effect depends only on that: 15 min converts 3 pp more than 1 h, no reminder converts at the base rate', () => {
    const s = scenario({
      shoppers: 30_000,
      behavior: { cartRate: 1, checkoutInSession: 0 },
      races: { purchaseBeforeReminder: { rate: 0 }, optOutMidJourney: { rate: 0 }, duplicateCart: { rate: 0 }, staleEvent: { rate: 0 } },
    })
    const plan = planSimulation(s, 'r')
    const t0 = 1_000_000
    const rate = (delayMinutes: number | undefined) => {
      let carts = 0
      let converted = 0
      for (const sh of plan.shoppers) {
        const cart = abandonedOf(sh)
        if (!cart) continue
        carts++
        if (cart.organic) {
          converted++
          continue
        }
        if (delayMinutes === undefined) continue
        const r = reactToMail(s, 'r', sh, freshState(cart, t0), reminderFor(cart, t0 + simMinutesToMs(s, delayMinutes)), 0)
        if (r.purchase?.cause === 'reminder') converted++
      }
      return converted / carts
    }
    const m15 = rate(16)
    const h1 = rate(61)
    const none = rate(undefined)
    expect(armOf(s, 5)).toBe('m15')
    expect(armOf(s, 16)).toBe('m15')
    expect(armOf(s, 59)).toBe('m15')
    expect(armOf(s, 61)).toBe('h1')
    expect(armOf(s, 10_000)).toBe('h1')
    expect(m15 - h1).toBeGreaterThan(0.02)
    expect(m15 - h1).toBeLessThan(0.04)
    expect(Math.abs(none - 0.1)).toBeLessThan(0.01)
    expect(Math.abs(m15 - 0.18)).toBeLessThan(0.012)
    expect(Math.abs(h1 - 0.15)).toBeLessThan(0.012)
  })

  it('answers a reminder the same way every time; clicks the cart link; never sooner than the human floors', () => {
    const s = scenario({ shoppers: 500, engagement: { open: 1, clickGivenOpen: 1 }, behavior: { cartRate: 1, checkoutInSession: 0 } })
    const plan = planSimulation(s, 'r')
    const sh = plan.shoppers.find((x) => abandonedOf(x) && !abandonedOf(x)!.organic)!
    const cart = abandonedOf(sh)!
    const mail = reminderFor(cart, 5_000_000)
    const a = reactToMail(s, 'r', sh, freshState(cart, 5_000_000 - 1500), mail, 0)
    const b = reactToMail(s, 'r', sh, freshState(cart, 5_000_000 - 1500), mail, 0)
    expect(a).toEqual(b)
    expect(a).toMatchObject({
      kind: 'reminder',
      cartId: cart.cartId,
      arm: 'm15',
      countsForArm: true,
      falseTriggers: [],
      click: { link: 1 },
    })
    // A variant the mail names (effects.variantPattern) decides the arm over the timing.
    expect(reactToMail(s, 'r', sh, freshState(cart, 5_000_000 - 1500), { ...mail, variant: 'h1' }, 0).arm).toBe('h1')
    expect(reactToMail(s, 'r', sh, freshState(cart, 5_000_000 - 1500), { ...mail, variant: 'unknown' }, 0).arm).toBe('m15')
    expect(a.open!.afterMs).toBeGreaterThanOrEqual(2500)
    expect(a.click!.afterMs).toBeGreaterThanOrEqual(11_000)
    if (a.purchase)
      expect(a.purchase.event).toMatchObject({
        event: 'Order Completed',
        properties: { cart_id: cart.cartId, order_id: cart.orderId, source_message_id: mail.messageId },
      })
  })

  it('notices what should not have happened: a reminder after the purchase, a second reminder, mail after an opt-out, a test account’s mail unmarked', () => {
    const s = scenario({
      shoppers: 300,
      behavior: { cartRate: 1, checkoutInSession: 0 },
      races: { testAccount: { rate: 0.01, ids: ['qa-1'] } },
    })
    const plan = planSimulation(s, 'r')
    const sh = plan.shoppers.find((x) => abandonedOf(x) && !x.profile.test)!
    const cart = abandonedOf(sh)!
    const after = reactToMail(
      s,
      'r',
      sh,
      { carts: new Map([[cart.cartId, { addedAt: 0, purchasedAt: 10, purchaseStoredAt: 25, reminders: [] }]]) },
      reminderFor(cart, 20),
      0,
    )
    expect(after.falseTriggers).toEqual(['reminderAfterPurchase']) // bought at 10, stored at 25: Nudge could not know at 20
    const stored = reactToMail(
      s,
      'r',
      sh,
      { carts: new Map([[cart.cartId, { addedAt: 0, purchasedAt: 10, purchaseStoredAt: 15, reminders: [] }]]) },
      reminderFor(cart, 20),
      0,
    )
    expect(stored.falseTriggers).toEqual(['reminderAfterPurchase', 'reminderAfterStoredPurchase'])
    expect(after.purchase).toBeUndefined()
    const second = reactToMail(
      s,
      'r',
      sh,
      { carts: new Map([[cart.cartId, { addedAt: 0, reminders: ['m-first'] }]]) },
      reminderFor(cart, 20),
      1,
    )
    expect(second.falseTriggers).toEqual(['duplicateReminder'])
    expect(second.countsForArm).toBe(false)
    const optedOut = reactToMail(s, 'r', sh, { ...freshState(cart, 0), optedOutAt: 5, optOutStoredAt: 8 }, reminderFor(cart, 20), 0)
    expect(optedOut.falseTriggers).toEqual(['mailAfterOptOut', 'mailAfterStoredOptOut'])
    const qa = plan.shoppers.find((x) => x.profile.test)!
    const other = reactToMail(
      s,
      'r',
      qa,
      { carts: new Map() },
      { messageId: 'x', subject: 'New arrivals', receivedAt: 1, test: false, cartIds: [], links: [] },
      0,
    )
    expect(other).toMatchObject({ kind: 'other', falseTriggers: ['testMailUnflagged'] })
  })

  it('readers read a post or a video, lapsed shoppers did everything long ago, buyers in session come back once; the others’ plans do not move', () => {
    const base = { shoppers: 400, behavior: { cartRate: 1, checkoutInSession: 0.5 } }
    const s = scenario({
      ...base,
      behavior: {
        ...base.behavior,
        readerRate: 0.1,
        lapsedRate: 0.1,
        lapsedDays: 40,
        returnAfterCheckout: 1,
        returnMinutes: { min: 60, max: 90 },
      },
    })
    const plan = planSimulation(s, 'p')
    const readers = plan.shoppers.filter((x) => x.persona === 'reader')
    const lapsed = plan.shoppers.filter((x) => x.persona === 'lapsed')
    expect(readers.length).toBeGreaterThan(20)
    expect(lapsed.length).toBeGreaterThan(20)
    const events = (x: ShopperPlan) =>
      x.steps.filter((st) => !st.resend).flatMap((st) => st.events.map((e) => ({ ...e, staleDays: st.staleDays })))
    for (const r of readers) {
      expect(r.carts).toEqual([])
      expect(events(r).some((e) => e.event === 'Product Viewed')).toBe(false)
      expect(
        events(r)
          .filter((e) => e.event === 'Content Viewed')
          .map((e) => e.properties!.type),
      ).toEqual([expect.stringMatching(/^(post|video)$/)])
      expect(r.mailProduct).toBeDefined() // what a purchase after their mail buys
    }
    for (const l of lapsed) {
      expect(l.carts).toEqual([])
      expect(events(l).every((e) => e.staleDays === 40)).toBe(true)
      expect(events(l).map((e) => e.type)).toEqual(expect.arrayContaining(['identify', 'page']))
    }
    // A second visit after every in-session purchase, a page between 60 and 90 minutes after it.
    const buyers = plan.shoppers.filter((x) => x.carts.some((c) => c.kind === 'checkout'))
    expect(buyers.length).toBeGreaterThan(50)
    for (const b of buyers) {
      const checkout = b.steps.find((st) => st.label === 'checkout')!
      const back = b.steps.find((st) => st.label === 'return')!
      expect(back.events[0]!.type).toBe('page')
      expect(b.returnVisit).toBe(back.at)
      expect(back.at - checkout.at).toBeGreaterThanOrEqual(60)
      expect(back.at - checkout.at).toBeLessThanOrEqual(90)
    }
    // The shoppers who are neither have the same plans as without personas (their own streams).
    const plain = planSimulation(scenario(base), 'p')
    const same = plan.shoppers.filter((x) => !x.persona && !x.returnVisit)
    expect(same.length).toBeGreaterThan(100)
    for (const x of same) expect(x.steps).toEqual(plain.shoppers[x.index]!.steps)
  })

  it('answers a journey’s mail by its kind with the shopper’s own draws, whatever order it arrives in', () => {
    const kinds = [
      { name: 'offer', subjectPattern: '^Still thinking', purchaseGivenClick: 1 },
      { name: 'winback', subjectPattern: 'miss you', purchaseGivenClick: 0 },
    ]
    const s = scenario({ shoppers: 300, engagement: { open: 0.8, clickGivenOpen: 0.8 }, effects: { mailKinds: kinds } })
    expect(mailKindOf(s, 'Still thinking about Alpine Tent?')?.name).toBe('offer')
    expect(mailKindOf(s, 'Your cart')).toBeUndefined()
    const plan = planSimulation(s, 'k')
    const mail = (subject: string): ReceivedMail => ({
      messageId: `m-${subject}`,
      subject,
      receivedAt: 1000,
      test: false,
      cartIds: [],
      links: [{ url: 'https://n/t/c/x.y' }],
      pixelUrl: 'https://n/t/o/x',
    })
    let bought = 0
    for (const sh of plan.shoppers.filter((x) => !x.profile.test).slice(0, 200)) {
      const first = reactToMail(s, 'k', sh, { carts: new Map() }, mail('Still thinking about it?'), 0)
      const later = reactToMail(s, 'k', sh, { carts: new Map() }, mail('Still thinking about it?'), 7)
      expect(first.mailKind).toBe('offer')
      expect([!!first.click, !!first.purchase]).toEqual([!!later.click, !!later.purchase])
      if (first.purchase) {
        bought++
        expect(first.purchase.revenue).toBe(sh.mailProduct!.price)
      }
      expect(reactToMail(s, 'k', sh, { carts: new Map() }, mail('We miss you'), 0).purchase).toBeUndefined()
    }
    // Every click on the offer buys (purchaseGivenClick 1): about open × click of them.
    expect(bought).toBeGreaterThan(100)
    expect(bought).toBeLessThan(160)
  })

  it('content variants by subject; revenue grows by an add-on line', () => {
    const s = scenario()
    expect(contentVariantOf(s, 'Last chance: your cart')).toEqual({ name: 'urgency', revenueMultiplier: 1.2 })
    expect(contentVariantOf(s, 'Ada, your cart is waiting')).toEqual({ name: 'default', revenueMultiplier: 1 })
    const p = orderProperties(
      {
        cartId: 'c',
        orderId: 'o',
        products: [{ product_id: 'p', name: 'P', category: 'c', price: 50, image_url: '', url: '' }],
        subtotal: 50,
      },
      1.2,
      'USD',
    ) as { revenue: number; products: { price: number }[] }
    expect(p.revenue).toBe(60)
    expect(p.products.reduce((a, x) => a + x.price, 0)).toBe(60)
  })
})

describe('simulator: reading mail as Nudge writes it', () => {
  it('finds the pixel, the tracked links and where they lead, the one-click URL, the test mark and the cart', async () => {
    const key = randomBytes(32)
    const cartUrl = 'https://shop.example/cart?cart_id=r1-c4-0'
    const composed = composeMessage(
      { publicUrl: () => 'http://127.0.0.1:3999', key, opens: true, clicks: true },
      {
        messageId: 'msg-1',
        userKey: 'u1',
        topic: 'marketing',
        html: `<html><body><a href="https://shop.example/p/1">Boot</a> <a href="${cartUrl.replace('&', '&amp;')}">Back to your cart</a></body></html>`,
      },
    )
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true })
    const info = await transport.sendMail({
      from: 'n@x',
      to: 'u1@example.test',
      subject: 'Ada, your cart is waiting',
      html: composed.html,
      text: `Back to your cart (${cartUrl})`,
      headers: { 'X-Nudge-Message-Id': 'msg-1', 'X-Nudge-Test': '1', ...composed.headers },
    })
    const raw = (info.message as Buffer).toString('utf8')
    const mail = await parseMail(raw, { messageId: 'msg-1', receivedAt: '2026-05-01 10:00:00.123', subject: 'Ada, your cart is waiting' })
    expect(mail).toMatchObject({ messageId: 'msg-1', test: true, cartIds: ['r1-c4-0'], receivedAt: Date.parse('2026-05-01T10:00:00.123Z') })
    expect(mail.pixelUrl).toMatch(/^http:\/\/127\.0\.0\.1:3999\/t\/o\//)
    expect(mail.links.map((l) => l.target)).toEqual(['https://shop.example/p/1', cartUrl])
    expect(mail.unsubscribeUrl).toMatch(/^http:\/\/127\.0\.0\.1:3999\/u\//)
    expect(mail.variant).toBeUndefined()
    const marked = await transport.sendMail({ from: 'n@x', to: 'u1@example.test', subject: 's', html: '<p data-variant="m15">Hi</p>' })
    expect(
      (
        await parseMail(
          (marked.message as Buffer).toString('utf8'),
          { messageId: 'm', receivedAt: '2026-05-01 10:00:00', subject: 's' },
          { variantPattern: 'data-variant="([^"]+)"' },
        )
      ).variant,
    ).toBe('m15')
  })

  it('small parsers', () => {
    expect(parseReceivedAt('2026-01-02T03:04:05.006Z')).toBe(Date.parse('2026-01-02T03:04:05.006Z'))
    expect(unsubscribeUrl('<mailto:u@x>, <https://n.example/u/abc>')).toBe('https://n.example/u/abc')
    expect(unsubscribeUrl('<http://n/u/abc>, <mailto:u@x>')).toBe('http://n/u/abc')
    expect(clickTarget('http://n/t/c/not-a-token')).toBeUndefined()
    expect(cartIdsIn('a https://s/cart?x=1&cart_id=r-c1-0 b ?cart_id=r-c2-0-stale')).toEqual(['r-c1-0', 'r-c2-0-stale'])
  })
})

describe('simulator: plumbing', () => {
  it.each(['all', 'recipient'] as const)(
    'the mailbox reader (%s) hands each new message to its recipient once, oldest first',
    async (mode) => {
      const at = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
      const box: CapturedListing[] = []
      const put = (messageId: string, to: string, ms: number) =>
        box.push({ messageId, to: [to], receivedAt: at(ms), subject: 's', deliveries: 1 })
      let lists = 0
      const client = {
        listMessages: async (q: { to?: string; limit?: number; before?: string }) => {
          lists++
          return box
            .filter((m) => (!q.to || m.to.includes(q.to)) && (!q.before || parseReceivedAt(m.receivedAt) < parseReceivedAt(q.before)))
            .sort((a, b) => parseReceivedAt(b.receivedAt) - parseReceivedAt(a.receivedAt))
            .slice(0, q.limit ?? 100)
        },
        rawMessage: async (id: string) =>
          `Subject: s\r\nX-Nudge-Message-Id: ${id}\r\nContent-Type: text/html\r\n\r\n<img src="http://n/t/o/a.b"><a href="http://n/t/c/c.d">x</a>`,
      }
      const watcher = new MailWatcher(client, { mode, pollMs: 20, concurrency: 2, since: 10_000, pageSize: 2 })
      const got: Record<string, string[]> = { a: [], b: [] }
      watcher.watch('a@x', (m) => got.a!.push(m.messageId))
      watcher.watch('b@x', (m) => got.b!.push(m.messageId))
      put('old', 'a@x', 5_000) // before the run
      put('m1', 'a@x', 11_000)
      put('m2', 'b@x', 12_000)
      put('m3', 'a@x', 11_500)
      put('other', 'c@x', 13_000)
      await new Promise((r) => setTimeout(r, 120))
      put('m4', 'a@x', 14_000)
      await watcher.finish('a@x')
      put('late', 'a@x', 15_000)
      await watcher.finish('b@x')
      watcher.stop()
      expect(got).toEqual({ a: ['m1', 'm3', 'm4'], b: ['m2'] })
      expect(watcher.mailsSeen).toBe(4)
      expect(lists).toBeGreaterThan(1)
    },
  )

  it('batches events, sends a race at once, and acknowledges each sender', async () => {
    const posted: number[] = []
    const batcher = new EventBatcher({ batch: async (events) => void posted.push(events.length) }, { maxEvents: 3, lingerMs: 20 })
    const acks = await Promise.all([batcher.send([{ a: 1 }]), batcher.send([{ a: 2 }]), batcher.send([{ a: 3 }]), batcher.send([{ a: 4 }])])
    expect(acks.every((t) => typeof t === 'number')).toBe(true)
    expect(posted).toEqual([3, 1])
    posted.length = 0
    const slow = batcher.send([{ b: 1 }])
    await batcher.send([{ race: 1 }], { immediate: true })
    await slow
    expect(posted).toEqual([2])
  })

  it('PRNG streams are reproducible and roughly uniform', () => {
    const a = Random.for(7, 'x')
    const b = Random.for(7, 'x')
    const xs = Array.from({ length: 10_000 }, () => a.next())
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.next()))
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.02)
    expect(Random.for(7, 'y').next()).not.toBe(xs[0])
  })

  it('renders the progress line', () => {
    expect(
      renderProgress(
        { shoppers: 500, shoppersDone: 250, eventsSent: 12_345, mailsSeen: 67, racesInjected: 8, errors: 0, elapsedMs: 4200 },
        10,
      ),
    ).toBe('█████░░░░░ 250/500 shoppers · 12,345 events · 67 mails · 8 races · 4.2s')
  })
})

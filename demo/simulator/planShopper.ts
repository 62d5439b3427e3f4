import { Random } from './random.js'
import type { Scenario } from './scenario.js'
import type { CartPlan, PlanStep, Product, ShopperPlan, SimEvent, SimulationPlan } from './modelTypes.js'
import { PAGES, POSTS, TICKET_SUBJECTS, makeCatalog, round2, testAccounts } from './people.js'
import { ShopperEvents } from './shopperEvents.js'
import { orderEvent } from './orders.js'

/**
 * Every shopper's plan: their profile, a timed list of steps (each a few Segment events) and their
 * carts with the random draws that decide how they will answer a reminder. Same seed → same plans:
 * each shopper draws from a stream of their own, in a fixed order (the planner's methods keep it).
 */
export function planSimulation(s: Scenario, runId: string): SimulationPlan {
  const catalog = makeCatalog(s)
  const tests = testAccounts(s)
  const shoppers: ShopperPlan[] = []
  for (let i = 0; i < s.shoppers; i++) shoppers.push(planShopper(s, runId, catalog, i, tests.get(i)))
  return { runId, catalog, shoppers }
}

export function planShopper(s: Scenario, runId: string, catalog: readonly Product[], index: number, testId?: string): ShopperPlan {
  const p = new ShopperPlanner(s, runId, catalog, index, testId)
  p.intro()
  // Readers and lapsed shoppers have no product sessions (and so no cart, and no cart experiment).
  const sessions = p.persona ? 0 : Math.max(1, p.count(p.b.sessions))
  const cartSession = p.rng.chance(p.b.cartRate) ? p.rng.int(0, sessions - 1) : -1
  const ticketSession = p.rng.chance(p.b.supportTicketRate) ? p.rng.int(0, sessions - 1) : -1
  let abandoned = false
  for (let session = 0; session < sessions && !abandoned; session++) {
    if (session > 0) p.t += p.within(p.b.sessionGapMinutes)
    p.browse()
    if (session === cartSession) abandoned = p.cartSession()
    if (session === ticketSession) p.ticket()
  }
  if (!p.persona && p.rng.chance(s.races.staleEvent.rate)) p.staleCart()
  p.retries()
  return p.plan()
}

/** One shopper's plan as it is drawn: the state the steps build on, and one method per part of a visit. */
class ShopperPlanner extends ShopperEvents {
  private readonly steps: PlanStep[] = []
  private readonly carts: CartPlan[] = []
  private lastViewed: Product | undefined
  private lastOrder: string | undefined
  private readonly viewed: Product[] = []
  private returnVisit: number | undefined

  // ── A visit ──

  /** Who they are before they shop: the identify; a lapsed shopper's old history; a reader's post. */
  intro(): void {
    const { steps, b, rng } = this
    if (this.identified && this.persona !== 'lapsed') steps.push({ at: 0, label: 'identify', events: [this.identify()] })
    if (this.persona === 'lapsed') {
      // Everything they did, they did long ago: the events that arrive now put them in an inactivity segment.
      steps.push({ at: 0, label: 'lapsed', staleDays: b.lapsedDays, events: [this.identify(), this.pageEvent(rng.pick(PAGES))] })
    } else if (this.persona === 'reader') {
      this.t += this.within(b.thinkMinutes)
      steps.push({ at: this.t, label: 'browse', events: [this.pageEvent({ name: 'Journal', path: '/journal' })] })
      this.t += this.within(b.thinkMinutes)
      const post = rng.pick(POSTS)
      steps.push({
        at: this.t,
        label: 'content',
        events: [
          this.track('Content Viewed', { ...post, url: `${this.shopUrl}/journal/${post.title.toLowerCase().replace(/[^a-z]+/g, '-')}` }),
        ],
      })
    }
  }

  /** A session's pages (logging in after the first if anonymous), maybe a search, the products viewed. */
  browse(): void {
    const { steps, b, rng, catalog } = this
    const pages = Math.max(1, this.count(b.pageViews))
    for (let p = 0; p < pages; p++) {
      if (p > 0) this.t += this.within(b.thinkMinutes)
      steps.push({ at: this.t, label: 'browse', events: [this.pageEvent(rng.pick(PAGES))] })
      if (!this.identified) {
        // Logged in after the first page: the identify links the anonymous history to the user.
        this.identified = true
        this.t += this.within(b.thinkMinutes)
        steps.push({ at: this.t, label: 'identify', events: [this.identify()] })
      }
    }
    if (rng.chance(b.searchRate)) {
      this.t += this.within(b.thinkMinutes)
      const product = rng.pick(catalog)
      const query = rng.chance(0.5) ? product.category : product.name.split(' ').pop()!.toLowerCase()
      steps.push({ at: this.t, label: 'search', events: [this.track('Products Searched', { query })] })
    }
    const views = this.count(b.productViews)
    for (let v = 0; v < views; v++) {
      this.t += this.within(b.thinkMinutes)
      const product = rng.pick(catalog)
      this.viewed.push(product)
      this.lastViewed = product
      steps.push({ at: this.t, label: 'browse', events: [this.track('Product Viewed', { ...product, currency: this.s.catalog.currency })] })
    }
  }

  /** The session with a cart: fill it, then buy it there or leave it. True when it was left (the visit ends). */
  cartSession(): boolean {
    const cart = this.fillCart()
    if (this.rng.chance(this.b.checkoutInSession)) {
      this.checkout(cart)
      return false
    }
    this.abandon(cart)
    return true
  }

  private fillCart(): CartPlan {
    const { s, rng, catalog, b, steps, runId, index } = this
    const k = this.carts.length
    const cartId = `${runId}-c${index}-${k}`
    const items = Math.max(1, this.count(b.itemsPerCart))
    const pool = this.viewed.length ? [...new Set(this.viewed)] : catalog.slice()
    const products = rng.sample(pool, items)
    while (products.length < items) {
      const extra = rng.pick(catalog)
      if (!products.includes(extra)) products.push(extra)
      else if (products.length >= catalog.length) break
    }
    const cartUrl = `${this.shopUrl}/cart?cart_id=${encodeURIComponent(cartId)}`
    const cart: CartPlan = {
      cartId,
      orderId: `${runId}-o${index}-${k}`,
      products,
      subtotal: round2(products.reduce((sum, p) => sum + p.price, 0)),
      kind: 'checkout',
      organic: false,
      draws: { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() },
      races: [],
    }
    this.carts.push(cart)
    let firstAdd: SimEvent | undefined
    products.forEach((product, n) => {
      this.t += this.within(b.thinkMinutes)
      const e = this.track('Product Added', { cart_id: cartId, ...product, quantity: 1, currency: s.catalog.currency, cart_url: cartUrl })
      firstAdd ??= e
      steps.push({ at: this.t, label: 'cart', events: [e], ...(n === 0 ? { marks: { cartAdded: cartId } } : {}) })
    })
    if (rng.chance(s.races.duplicateCart.rate)) {
      // The same cart added twice: another client (or a double click) sends its own event.
      const again = this.track('Product Added', { ...firstAdd!.properties })
      steps.push({ at: this.t + this.within(s.races.duplicateCart.afterMinutes), label: 'race', race: 'duplicateCart', events: [again] })
      cart.races.push('duplicateCart')
      this.races.push('duplicateCart')
    }
    return cart
  }

  private checkout(cart: CartPlan): void {
    const { s, b, steps, index } = this
    this.t += this.within(b.checkoutMinutes)
    steps.push({
      at: this.t,
      label: 'checkout',
      requiresOpenCart: cart.cartId,
      events: [orderEvent(this.track, cart, s.catalog.currency)],
      marks: { cartPurchased: cart.cartId },
    })
    this.lastOrder = cart.orderId
    // A second visit after the purchase (its own stream: the rest of the plan does not move with the rate).
    const back = Random.for(s.seed, 'return', index)
    if (this.returnVisit === undefined && back.chance(b.returnAfterCheckout)) {
      this.returnVisit = this.t + back.uniform(b.returnMinutes.min, b.returnMinutes.max)
      steps.push({ at: this.returnVisit, label: 'return', events: [this.pageEvent(back.pick(PAGES))] })
    }
  }

  /** Left for a reminder: maybe bought anyway (the base rate), maybe raced by a purchase or an opt-out. */
  private abandon(cart: CartPlan): void {
    const { s, rng, steps } = this
    const { cartId } = cart
    cart.kind = 'abandoned'
    const cartAt = this.t
    cart.organic = rng.chance(s.effects.baseConversion)
    const organicAt = cartAt + this.within(s.effects.organicPurchaseMinutes)
    if (cart.organic) {
      cart.organicAt = organicAt
      steps.push({
        at: organicAt,
        label: 'organic-purchase',
        requiresOpenCart: cartId,
        events: [orderEvent(this.track, cart, s.catalog.currency)],
        marks: { cartPurchased: cartId },
      })
    }
    const pr = s.races.purchaseBeforeReminder
    if (rng.chance(pr.rate)) {
      const minutes = pr.dueMinutes
      steps.push({
        at: cartAt + minutes,
        label: 'race',
        race: 'purchaseBeforeReminder',
        requiresOpenCart: cartId,
        anchor: { cartId, minutes, leadMs: pr.leadMs },
        immediate: true,
        events: [orderEvent(this.track, cart, s.catalog.currency)],
        marks: { cartPurchased: cartId },
      })
      cart.races.push('purchaseBeforeReminder')
      this.races.push('purchaseBeforeReminder')
    } else if (rng.chance(s.races.optOutMidJourney.rate)) this.optOutMidJourney(cart, cartAt)
  }

  private optOutMidJourney(cart: CartPlan, cartAt: number): void {
    const { s } = this
    const fraction = this.within(s.races.optOutMidJourney.atFraction)
    const minutes = s.races.purchaseBeforeReminder.dueMinutes * fraction
    const optOut: SimEvent = {
      type: 'identify',
      messageId: this.messageId(),
      userId: this.profile.userId,
      anonymousId: this.profile.anonymousId,
      context: { consent: { categoryPreferences: { [s.races.optOutMidJourney.category]: false } } },
    }
    this.steps.push({
      at: cartAt + minutes,
      label: 'race',
      race: 'optOutMidJourney',
      anchor: { cartId: cart.cartId, minutes, leadMs: 0 },
      immediate: true,
      events: [optOut],
      marks: { optedOut: true },
    })
    cart.races.push('optOutMidJourney')
    this.races.push('optOutMidJourney')
  }

  ticket(): void {
    const { rng } = this
    this.t += this.within(this.b.thinkMinutes)
    this.steps.push({
      at: this.t,
      label: 'support',
      events: [
        this.track('Support Ticket Opened', {
          ticket_id: `${this.runId}-t${this.index}`,
          subject: rng.pick(TICKET_SUBJECTS),
          channel: rng.pick(['email', 'chat', 'phone']),
          ...(this.lastOrder ? { order_id: this.lastOrder } : {}),
        }),
      ],
    })
  }

  /** A stale cart: a client that queued events for days (or an import) delivers them now. */
  staleCart(): void {
    const { s, rng, runId, index } = this
    const product = rng.pick(this.catalog)
    const k = this.carts.length
    const cartId = `${runId}-c${index}-${k}-stale`
    this.carts.push({
      cartId,
      orderId: `${runId}-o${index}-${k}`,
      products: [product],
      subtotal: product.price,
      kind: 'stale',
      organic: false,
      draws: { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() },
      races: ['staleEvent'],
    })
    const at = rng.uniform(0, Math.max(this.t, 0.001))
    this.steps.push({
      at,
      label: 'race',
      race: 'staleEvent',
      staleDays: s.races.staleEvent.daysAgo,
      events: [
        this.track('Product Viewed', { ...product, currency: s.catalog.currency }),
        this.track('Product Added', {
          cart_id: cartId,
          ...product,
          quantity: 1,
          currency: s.catalog.currency,
          cart_url: `${this.shopUrl}/cart?cart_id=${encodeURIComponent(cartId)}`,
        }),
      ],
      marks: { cartAdded: cartId },
    })
    this.races.push('staleEvent')
  }

  /** Client retries: some events are delivered a second time, byte for byte. */
  retries(): void {
    const dup = this.s.races.duplicateMessageId
    if (dup.rate <= 0) return
    for (const step of this.steps.slice()) {
      if (step.race) continue
      for (const e of step.events) {
        if (!this.rng.chance(dup.rate)) continue
        this.steps.push({
          at: step.at + this.within(dup.afterMinutes),
          label: 'race',
          race: 'duplicateMessageId',
          resend: true,
          events: [e],
        })
        this.races.push('duplicateMessageId')
      }
    }
  }

  plan(): ShopperPlan {
    const { s, index, lastViewed, persona, returnVisit } = this
    // Stable by time: ties keep the order they were planned in.
    const ordered = this.steps
      .map((step, i) => ({ step, i }))
      .sort((a, b) => a.step.at - b.step.at || a.i - b.i)
      .map((x) => x.step)
    const last = ordered.length ? ordered[ordered.length - 1]!.at : 0
    const mailProduct = lastViewed ?? Random.for(s.seed, 'mail-product', index).pick(this.catalog)
    return {
      index,
      profile: this.profile,
      arrival: this.arrival,
      steps: ordered,
      carts: this.carts,
      races: this.races,
      ...(lastViewed ? { lastViewed } : {}),
      mailProduct,
      ...(persona ? { persona } : {}),
      ...(returnVisit !== undefined ? { returnVisit } : {}),
      watchUntil: Math.max(last + s.engagement.watchMinutes, s.engagement.watchFromArrivalMinutes),
    }
  }
}

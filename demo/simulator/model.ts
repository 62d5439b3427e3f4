import { Random } from './random.js'
import { type Scenario, msToSimMinutes, reminderConversion, reminderPurchaseGivenClick, simMinutesToMs } from './scenario.js'

/**
 * The shoppers as a pure model: no HTTP, no clocks. `planSimulation` turns a scenario into every
 * shopper's plan — their profile, a timed list of steps (each a few Segment events) and their
 * carts with the random draws that decide how they will answer a reminder. `reactToMail` decides
 * what a shopper does with a mail Nudge sent them, from the plan, what has happened so far and the
 * mail alone. Same seed → same plans → same event sequence; the reactions depend on nothing but
 * those draws and what Nudge did (which mail, when).
 */

// ── Events ──────────────────────────────────────────────────────────────────────────────────────

/** A Segment message as the simulator sends it; the runner adds `timestamp` when it is sent. */
export interface SimEvent {
  type: 'track' | 'identify' | 'page'
  messageId: string
  userId?: string
  anonymousId?: string
  event?: string
  name?: string
  properties?: Record<string, unknown>
  traits?: Record<string, unknown>
  context?: Record<string, unknown>
}

/** The summary's name for an event: the track event's name, else its type (`page`, `identify`). */
export function eventLabel(e: Pick<SimEvent, 'type' | 'event'>): string {
  return e.type === 'track' ? (e.event ?? 'track') : e.type
}

export interface Product {
  product_id: string
  name: string
  category: string
  price: number
  image_url: string
  url: string
}

export interface Profile {
  userId: string
  anonymousId: string
  email: string
  firstName: string
  locale: string
  timezone: string
  country: string
  /** A test account (its id is one of the scenario's `races.testAccount.ids`). */
  test: boolean
}

export type RaceKind = 'purchaseBeforeReminder' | 'duplicateMessageId' | 'duplicateCart' | 'optOutMidJourney' | 'staleEvent' | 'testAccount'
export const RACE_KINDS: readonly RaceKind[] = [
  'purchaseBeforeReminder',
  'duplicateMessageId',
  'duplicateCart',
  'optOutMidJourney',
  'staleEvent',
  'testAccount',
]

/**
 * What a shopper can see that should not have happened. `…After…` compare with when the shopper
 * acted (the event's timestamp); `…AfterStored…` with when Nudge acknowledged it (it had it then).
 */
export type FalseTriggerKind =
  | 'reminderAfterPurchase'
  | 'reminderAfterStoredPurchase'
  | 'duplicateReminder'
  | 'reminderForStaleCart'
  | 'mailAfterOptOut'
  | 'mailAfterStoredOptOut'
  | 'mailAfterUnsubscribe'
  | 'testMailUnflagged'
export const FALSE_TRIGGER_KINDS: readonly FalseTriggerKind[] = [
  'reminderAfterPurchase',
  'reminderAfterStoredPurchase',
  'duplicateReminder',
  'reminderForStaleCart',
  'mailAfterOptOut',
  'mailAfterStoredOptOut',
  'mailAfterUnsubscribe',
  'testMailUnflagged',
]

export interface PlanStep {
  /** Simulated minutes after the shopper arrived. */
  at: number
  label: 'identify' | 'browse' | 'search' | 'cart' | 'checkout' | 'support' | 'organic-purchase' | 'race' | 'content' | 'lapsed' | 'return'
  events: SimEvent[]
  race?: RaceKind
  /** Sent again exactly as first sent (same messageId and timestamp): a client retry. */
  resend?: boolean
  /** Skipped unless this cart is still open (a purchase of a cart already bought is not made twice). */
  requiresOpenCart?: string
  /** Timed from when this cart's first Product Added was stored: + `minutes` (simulated) − `leadMs` (real). */
  anchor?: { cartId: string; minutes: number; leadMs: number }
  /** Events carry a timestamp this many days in the past (a stale race, or a lapsed shopper's history). */
  staleDays?: number
  /** Sent at once, not held for a shared batch (timing races). */
  immediate?: boolean
  /** What the step does to the shopper's state once stored. */
  marks?: { cartAdded?: string; cartPurchased?: string; optedOut?: boolean }
}

export interface CartPlan {
  cartId: string
  orderId: string
  products: Product[]
  subtotal: number
  /** `checkout`: bought in the same session; `abandoned`: left for a reminder; `stale`: injected, days old. */
  kind: 'checkout' | 'abandoned' | 'stale'
  /** Abandoned carts: bought anyway (ground truth base conversion), at `organicAt`. */
  organic: boolean
  organicAt?: number
  /** Uniform draws that decide how a reminder for this cart is answered (potential outcomes: the same draws whatever the arm). */
  draws: { open: number; click: number; buy: number; unsubscribe: number }
  races: RaceKind[]
}

export interface ShopperPlan {
  index: number
  profile: Profile
  /** Simulated minutes after the run started. */
  arrival: number
  steps: PlanStep[]
  carts: CartPlan[]
  races: RaceKind[]
  lastViewed?: Product
  /** What a purchase after a journey's mail buys: the product last viewed, else one picked for the shopper. */
  mailProduct?: Product
  /** `reader`: reads content only; `lapsed`: everything they did, long ago. Absent: a shopper who browses products. */
  persona?: Persona
  /** Simulated minutes after arrival of the second visit after an in-session purchase (`behavior.returnAfterCheckout`). */
  returnVisit?: number
  /** Simulated minutes after arrival when the shopper stops watching their mailbox. */
  watchUntil: number
}

export type Persona = 'reader' | 'lapsed'

export interface SimulationPlan {
  runId: string
  catalog: Product[]
  shoppers: ShopperPlan[]
}

// ── Catalog and people ──────────────────────────────────────────────────────────────────────────

const ADJECTIVES = ['Trail', 'Summit', 'Urban', 'Coastal', 'Alpine', 'Desert', 'Harbor', 'Forest', 'Canyon', 'Nordic', 'Meadow', 'Ridge']
const NOUNS: Record<string, string[]> = {
  shoes: ['Runner', 'Hiker', 'Sneaker', 'Boot'],
  jackets: ['Shell', 'Parka', 'Windbreaker', 'Fleece'],
  bags: ['Daypack', 'Tote', 'Duffel', 'Sling'],
  hats: ['Cap', 'Beanie', 'Sun Hat', 'Bucket Hat'],
  socks: ['Crew Socks', 'Trail Socks', 'Wool Socks'],
  tents: ['Tent', 'Tarp', 'Bivy'],
}
const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Linus',
  'Radia',
  'Tim',
  'Hedy',
  'Claude',
  'Katherine',
  'John',
]
// No NO/SE: the seed's reminder flag gives the Nordics their own delay before the experiment decides.
const LOCALES = [
  { locale: 'en-US', timezone: 'America/New_York', country: 'US' },
  { locale: 'en-US', timezone: 'America/Los_Angeles', country: 'US' },
  { locale: 'en-GB', timezone: 'Europe/London', country: 'GB' },
  { locale: 'de-DE', timezone: 'Europe/Berlin', country: 'DE' },
  { locale: 'fr-FR', timezone: 'Europe/Paris', country: 'FR' },
  { locale: 'es-ES', timezone: 'Europe/Madrid', country: 'ES' },
  { locale: 'en-AU', timezone: 'Australia/Sydney', country: 'AU' },
]
const PAGES = [
  { name: 'Home', path: '/' },
  { name: 'Sale', path: '/sale' },
  { name: 'New Arrivals', path: '/new' },
  { name: 'Lookbook', path: '/lookbook' },
]
const POSTS = [
  { type: 'post', title: 'Layering for a wet hike', category: 'jackets' },
  { type: 'video', title: 'Pitching a tent in the wind', category: 'tents' },
  { type: 'post', title: 'Breaking in new boots', category: 'shoes' },
  { type: 'video', title: 'Packing a daypack', category: 'bags' },
]
const TICKET_SUBJECTS = ['Where is my order?', 'Size exchange', 'Discount code not working', 'Damaged item', 'Change delivery address']

const round2 = (n: number) => Math.round(n * 100) / 100

export function makeCatalog(s: Scenario): Product[] {
  const rng = Random.for(s.seed, 'catalog')
  const { min, max } = s.catalog.price
  const base = s.catalog.shopUrl.replace(/\/+$/, '')
  const out: Product[] = []
  for (let i = 0; i < s.catalog.products; i++) {
    const category = s.catalog.categories[i % s.catalog.categories.length]!
    const nouns = NOUNS[category] ?? [category[0]!.toUpperCase() + category.slice(1)]
    const id = `p-${String(i + 1).padStart(4, '0')}`
    const raw = min > 0 ? Math.exp(rng.uniform(Math.log(min), Math.log(Math.max(max, min)))) : rng.uniform(min, max)
    const price = Math.max(0.99, Math.round(raw) - 0.01)
    out.push({
      product_id: id,
      name: `${rng.pick(ADJECTIVES)} ${rng.pick(nouns)}`,
      category,
      price: round2(price),
      image_url: `${base}/img/${id}.jpg`,
      url: `${base}/p/${id}`,
    })
  }
  return out
}

/** Which shopper indexes are test accounts, and with which id (a scenario-level draw). */
export function testAccounts(s: Scenario): Map<number, string> {
  const ids = s.races.testAccount.ids
  const k = Math.min(ids.length, Math.round(s.races.testAccount.rate * s.shoppers))
  const rng = Random.for(s.seed, 'test-accounts')
  const chosen = new Map<number, string>()
  while (chosen.size < k) {
    const i = rng.int(0, s.shoppers - 1)
    if (!chosen.has(i)) chosen.set(i, ids[chosen.size]!)
  }
  return chosen
}

export function userIdOf(s: Scenario, runId: string, index: number): string {
  return `${s.identity.userIdPrefix}-${runId}-${index}`
}

// ── Plans ───────────────────────────────────────────────────────────────────────────────────────

export function planSimulation(s: Scenario, runId: string): SimulationPlan {
  const catalog = makeCatalog(s)
  const tests = testAccounts(s)
  const shoppers: ShopperPlan[] = []
  for (let i = 0; i < s.shoppers; i++) shoppers.push(planShopper(s, runId, catalog, i, tests.get(i)))
  return { runId, catalog, shoppers }
}

/** A reader or a lapsed shopper (their own stream: the other shoppers' plans do not change with these rates), or undefined. */
export function personaOf(s: Scenario, index: number): Persona | undefined {
  const { readerRate, lapsedRate } = s.behavior
  if (readerRate + lapsedRate <= 0) return undefined
  const u = Random.for(s.seed, 'persona', index).next()
  return u < readerRate ? 'reader' : u < readerRate + lapsedRate ? 'lapsed' : undefined
}

export function planShopper(s: Scenario, runId: string, catalog: readonly Product[], index: number, testId?: string): ShopperPlan {
  const rng = Random.for(s.seed, 'shopper', index)
  const b = s.behavior
  const within = (r: { min: number; max: number }) => rng.uniform(r.min, r.max)
  const count = (r: { min: number; max: number }) => rng.int(Math.round(r.min), Math.round(r.max))

  const userId = testId ?? userIdOf(s, runId, index)
  const where = rng.pick(LOCALES)
  const profile: Profile = {
    userId,
    anonymousId: `anon-${runId}-${index}-${rng.hex(8)}`,
    email: `${userId.replace(/[^A-Za-z0-9._+-]/g, '_')}@${s.identity.emailDomain}`,
    firstName: rng.pick(FIRST_NAMES),
    ...where,
    test: testId !== undefined,
  }
  const arrival = rng.uniform(0, s.arrivalMinutes)
  const shopUrl = s.catalog.shopUrl.replace(/\/+$/, '')

  let seq = 0
  const messageId = () => `${runId}-${index}-${seq++}`
  let identified = !rng.chance(s.identity.anonymousFirst)
  const persona = personaOf(s, index)
  if (persona) identified = true
  const ids = () => (identified ? { userId, anonymousId: profile.anonymousId } : { anonymousId: profile.anonymousId })
  const track = (event: string, properties: Record<string, unknown>): SimEvent => ({
    type: 'track',
    messageId: messageId(),
    ...ids(),
    event,
    properties,
  })
  const identify = (): SimEvent => ({
    type: 'identify',
    messageId: messageId(),
    userId,
    anonymousId: profile.anonymousId,
    traits: {
      email: profile.email,
      first_name: profile.firstName,
      locale: profile.locale,
      timezone: profile.timezone,
      country: profile.country,
      currency: s.catalog.currency,
    },
  })

  const steps: PlanStep[] = []
  const carts: CartPlan[] = []
  const races: RaceKind[] = testId !== undefined ? ['testAccount'] : []
  let t = 0
  let lastViewed: Product | undefined
  let lastOrder: string | undefined
  const viewed: Product[] = []

  const pageEvent = (page: { name: string; path: string }): SimEvent => ({
    type: 'page',
    messageId: messageId(),
    ...ids(),
    name: page.name,
    properties: { path: page.path, url: `${shopUrl}${page.path}`, title: page.name },
  })
  let returnVisit: number | undefined

  if (identified && persona !== 'lapsed') steps.push({ at: 0, label: 'identify', events: [identify()] })
  if (persona === 'lapsed') {
    // Everything they did, they did long ago: the events that arrive now put them in an inactivity segment.
    steps.push({ at: 0, label: 'lapsed', staleDays: b.lapsedDays, events: [identify(), pageEvent(rng.pick(PAGES))] })
  } else if (persona === 'reader') {
    t += within(b.thinkMinutes)
    steps.push({ at: t, label: 'browse', events: [pageEvent({ name: 'Journal', path: '/journal' })] })
    t += within(b.thinkMinutes)
    const post = rng.pick(POSTS)
    steps.push({
      at: t,
      label: 'content',
      events: [track('Content Viewed', { ...post, url: `${shopUrl}/journal/${post.title.toLowerCase().replace(/[^a-z]+/g, '-')}` })],
    })
  }

  // Readers and lapsed shoppers have no product sessions (and so no cart, and no cart experiment).
  const sessions = persona ? 0 : Math.max(1, count(b.sessions))
  const cartSession = rng.chance(b.cartRate) ? rng.int(0, sessions - 1) : -1
  const ticketSession = rng.chance(b.supportTicketRate) ? rng.int(0, sessions - 1) : -1
  let abandoned = false

  for (let session = 0; session < sessions && !abandoned; session++) {
    if (session > 0) t += within(b.sessionGapMinutes)
    const pages = Math.max(1, count(b.pageViews))
    for (let p = 0; p < pages; p++) {
      if (p > 0) t += within(b.thinkMinutes)
      steps.push({ at: t, label: 'browse', events: [pageEvent(rng.pick(PAGES))] })
      if (!identified) {
        // Logged in after the first page: the identify links the anonymous history to the user.
        identified = true
        t += within(b.thinkMinutes)
        steps.push({ at: t, label: 'identify', events: [identify()] })
      }
    }
    if (rng.chance(b.searchRate)) {
      t += within(b.thinkMinutes)
      const product = rng.pick(catalog)
      const query = rng.chance(0.5) ? product.category : product.name.split(' ').pop()!.toLowerCase()
      steps.push({ at: t, label: 'search', events: [track('Products Searched', { query })] })
    }
    const views = count(b.productViews)
    for (let v = 0; v < views; v++) {
      t += within(b.thinkMinutes)
      const product = rng.pick(catalog)
      viewed.push(product)
      lastViewed = product
      steps.push({ at: t, label: 'browse', events: [track('Product Viewed', { ...product, currency: s.catalog.currency })] })
    }

    if (session === cartSession) {
      const k = carts.length
      const cartId = `${runId}-c${index}-${k}`
      const items = Math.max(1, count(b.itemsPerCart))
      const pool = viewed.length ? [...new Set(viewed)] : catalog.slice()
      const products = rng.sample(pool, items)
      while (products.length < items) {
        const extra = rng.pick(catalog)
        if (!products.includes(extra)) products.push(extra)
        else if (products.length >= catalog.length) break
      }
      const cartUrl = `${shopUrl}/cart?cart_id=${encodeURIComponent(cartId)}`
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
      carts.push(cart)
      let firstAdd: SimEvent | undefined
      products.forEach((product, n) => {
        t += within(b.thinkMinutes)
        const e = track('Product Added', { cart_id: cartId, ...product, quantity: 1, currency: s.catalog.currency, cart_url: cartUrl })
        firstAdd ??= e
        steps.push({ at: t, label: 'cart', events: [e], ...(n === 0 ? { marks: { cartAdded: cartId } } : {}) })
      })
      if (rng.chance(s.races.duplicateCart.rate)) {
        // The same cart added twice: another client (or a double click) sends its own event.
        const again = track('Product Added', { ...firstAdd!.properties })
        steps.push({ at: t + within(s.races.duplicateCart.afterMinutes), label: 'race', race: 'duplicateCart', events: [again] })
        cart.races.push('duplicateCart')
        races.push('duplicateCart')
      }
      if (rng.chance(b.checkoutInSession)) {
        t += within(b.checkoutMinutes)
        steps.push({
          at: t,
          label: 'checkout',
          requiresOpenCart: cartId,
          events: [orderEvent(track, cart, s.catalog.currency)],
          marks: { cartPurchased: cartId },
        })
        lastOrder = cart.orderId
        // A second visit after the purchase (its own stream: the rest of the plan does not move with the rate).
        const back = Random.for(s.seed, 'return', index)
        if (returnVisit === undefined && back.chance(b.returnAfterCheckout)) {
          returnVisit = t + back.uniform(b.returnMinutes.min, b.returnMinutes.max)
          steps.push({ at: returnVisit, label: 'return', events: [pageEvent(back.pick(PAGES))] })
        }
      } else {
        cart.kind = 'abandoned'
        abandoned = true
        const cartAt = t
        cart.organic = rng.chance(s.effects.baseConversion)
        const organicAt = cartAt + within(s.effects.organicPurchaseMinutes)
        if (cart.organic) {
          cart.organicAt = organicAt
          steps.push({
            at: organicAt,
            label: 'organic-purchase',
            requiresOpenCart: cartId,
            events: [orderEvent(track, cart, s.catalog.currency)],
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
            events: [orderEvent(track, cart, s.catalog.currency)],
            marks: { cartPurchased: cartId },
          })
          cart.races.push('purchaseBeforeReminder')
          races.push('purchaseBeforeReminder')
        } else if (rng.chance(s.races.optOutMidJourney.rate)) {
          const fraction = within(s.races.optOutMidJourney.atFraction)
          const minutes = pr.dueMinutes * fraction
          const optOut: SimEvent = {
            type: 'identify',
            messageId: messageId(),
            userId,
            anonymousId: profile.anonymousId,
            context: { consent: { categoryPreferences: { [s.races.optOutMidJourney.category]: false } } },
          }
          steps.push({
            at: cartAt + minutes,
            label: 'race',
            race: 'optOutMidJourney',
            anchor: { cartId, minutes, leadMs: 0 },
            immediate: true,
            events: [optOut],
            marks: { optedOut: true },
          })
          cart.races.push('optOutMidJourney')
          races.push('optOutMidJourney')
        }
      }
    }

    if (session === ticketSession) {
      t += within(b.thinkMinutes)
      steps.push({
        at: t,
        label: 'support',
        events: [
          track('Support Ticket Opened', {
            ticket_id: `${runId}-t${index}`,
            subject: rng.pick(TICKET_SUBJECTS),
            channel: rng.pick(['email', 'chat', 'phone']),
            ...(lastOrder ? { order_id: lastOrder } : {}),
          }),
        ],
      })
    }
  }

  if (!persona && rng.chance(s.races.staleEvent.rate)) {
    // A stale cart: a client that queued events for days (or an import) delivers them now.
    const product = rng.pick(catalog)
    const k = carts.length
    const cartId = `${runId}-c${index}-${k}-stale`
    carts.push({
      cartId,
      orderId: `${runId}-o${index}-${k}`,
      products: [product],
      subtotal: product.price,
      kind: 'stale',
      organic: false,
      draws: { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() },
      races: ['staleEvent'],
    })
    const at = rng.uniform(0, Math.max(t, 0.001))
    steps.push({
      at,
      label: 'race',
      race: 'staleEvent',
      staleDays: s.races.staleEvent.daysAgo,
      events: [
        track('Product Viewed', { ...product, currency: s.catalog.currency }),
        track('Product Added', {
          cart_id: cartId,
          ...product,
          quantity: 1,
          currency: s.catalog.currency,
          cart_url: `${shopUrl}/cart?cart_id=${encodeURIComponent(cartId)}`,
        }),
      ],
      marks: { cartAdded: cartId },
    })
    races.push('staleEvent')
  }

  // Client retries: some events are delivered a second time, byte for byte.
  const dup = s.races.duplicateMessageId
  if (dup.rate > 0) {
    for (const step of steps.slice()) {
      if (step.race) continue
      for (const e of step.events) {
        if (!rng.chance(dup.rate)) continue
        steps.push({ at: step.at + within(dup.afterMinutes), label: 'race', race: 'duplicateMessageId', resend: true, events: [e] })
        races.push('duplicateMessageId')
      }
    }
  }

  // Stable by time: ties keep the order they were planned in.
  const ordered = steps
    .map((step, i) => ({ step, i }))
    .sort((a, b) => a.step.at - b.step.at || a.i - b.i)
    .map((x) => x.step)
  const last = ordered.length ? ordered[ordered.length - 1]!.at : 0
  const mailProduct = lastViewed ?? Random.for(s.seed, 'mail-product', index).pick(catalog)
  return {
    index,
    profile,
    arrival,
    steps: ordered,
    carts,
    races,
    ...(lastViewed ? { lastViewed } : {}),
    mailProduct,
    ...(persona ? { persona } : {}),
    ...(returnVisit !== undefined ? { returnVisit } : {}),
    watchUntil: Math.max(last + s.engagement.watchMinutes, s.engagement.watchFromArrivalMinutes),
  }
}

function orderEvent(track: (event: string, properties: Record<string, unknown>) => SimEvent, cart: CartPlan, currency: string): SimEvent {
  return track('Order Completed', orderProperties(cart, 1, currency))
}

/** Order Completed's properties for a cart; a multiplier above 1 adds an add-on line (the basket grew), below 1 a discount. */
export function orderProperties(
  cart: Pick<CartPlan, 'cartId' | 'orderId' | 'products' | 'subtotal'>,
  multiplier = 1,
  currency?: string,
): Record<string, unknown> {
  const products: Record<string, unknown>[] = cart.products.map((p) => ({
    product_id: p.product_id,
    name: p.name,
    category: p.category,
    price: p.price,
    quantity: 1,
    image_url: p.image_url,
    url: p.url,
  }))
  const revenue = round2(cart.subtotal * multiplier)
  const extra = round2(revenue - cart.subtotal)
  if (extra > 0) products.push({ product_id: 'addon', name: 'Add-on', category: 'addon', price: extra, quantity: 1 })
  return {
    order_id: cart.orderId,
    cart_id: cart.cartId,
    products,
    revenue,
    ...(extra < 0 ? { discount: -extra } : {}),
    ...(currency ? { currency } : {}),
  }
}

/** Every planned event in the order it is due, with the shopper and the step it belongs to (deterministic). */
export function plannedEventSequence(
  plan: SimulationPlan,
): { at: number; shopper: number; label: string; race?: RaceKind; event: SimEvent }[] {
  const out: { at: number; shopper: number; label: string; race?: RaceKind; event: SimEvent; order: number }[] = []
  for (const sh of plan.shoppers)
    sh.steps.forEach((step, n) => {
      for (const event of step.events)
        out.push({
          at: sh.arrival + step.at,
          shopper: sh.index,
          label: step.label,
          ...(step.race ? { race: step.race } : {}),
          event,
          order: n,
        })
    })
  out.sort((a, b) => a.at - b.at || a.shopper - b.shopper || a.order - b.order)
  return out.map(({ order: _order, ...rest }) => rest)
}

// ── Ground truth ────────────────────────────────────────────────────────────────────────────────

export interface ArmTruth {
  name: string
  /** Percentage points over the base conversion (0 for `none`). */
  lift: number
  /** What the arm's abandoned carts convert at, by construction: base + lift. */
  expectedConversion: number
  /** Chance a reminded cart that would not convert anyway converts because of the reminder. */
  reminderConversion: number
  /** The purchase-after-click probability that realizes it through open → click. */
  purchaseGivenClick: number
}

/** The configured truth per arm, plus `none` (never reminded: the base rate). */
export function expectedArms(s: Scenario): ArmTruth[] {
  const base = s.effects.baseConversion
  return [
    ...s.effects.reminderArms.map((a) => ({
      name: a.name,
      lift: a.lift,
      expectedConversion: base + a.lift,
      reminderConversion: reminderConversion(s, a.lift),
      purchaseGivenClick: reminderPurchaseGivenClick(s, a.lift),
    })),
    { name: 'none', lift: 0, expectedConversion: base, reminderConversion: 0, purchaseGivenClick: 0 },
  ]
}

/** The arm a reminder belongs to, from how long after the cart it arrived (simulated minutes): the last arm whose nominal delay has passed. */
export function armOf(s: Scenario, delayMinutes: number): string {
  const arms = s.effects.reminderArms
  let arm = arms[0]!
  for (const a of arms) if (delayMinutes >= a.delayMinutes) arm = a
  return arm.name
}

/** The scenario's kind of a mail that is not a cart reminder, by its subject (the first matching kind), or undefined. */
export function mailKindOf(s: Scenario, subject: string): Scenario['effects']['mailKinds'][number] | undefined {
  return s.effects.mailKinds.find((k) => new RegExp(k.subjectPattern, 'i').test(subject))
}

/** A shopper's draws for one kind of mail: the same whenever (and whichever run) it arrives — their potential answer. */
export function mailKindDraws(
  s: Pick<Scenario, 'seed'>,
  index: number,
  kind: string,
): { open: number; click: number; buy: number; unsubscribe: number } {
  const rng = Random.for(s.seed, 'mail-kind', index, kind)
  return { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() }
}

export function contentVariantOf(s: Scenario, subject: string): { name: string; revenueMultiplier: number } {
  const v = s.effects.contentVariants.find((c) => new RegExp(c.subjectPattern, 'i').test(subject))
  return v ? { name: v.name, revenueMultiplier: v.revenueMultiplier } : { name: 'default', revenueMultiplier: 1 }
}

// ── Reacting to mail ────────────────────────────────────────────────────────────────────────────

/** A captured mail as the shopper sees it (parsed from the raw MIME; see engagement.ts). */
export interface ReceivedMail {
  messageId: string
  subject: string
  /** When the mailbox received it (epoch ms). */
  receivedAt: number
  /** Marked `X-Nudge-Test: 1`. */
  test: boolean
  /** Cart ids the mail's links name (`cart_id=`). */
  cartIds: string[]
  pixelUrl?: string
  /** Tracked links (`/t/c/…`) and, where readable from the token, where they lead. */
  links: { url: string; target?: string }[]
  /** The http(s) List-Unsubscribe URL (one-click). */
  unsubscribeUrl?: string
  /** The experiment variant the mail shows, when the scenario's `effects.variantPattern` finds one. */
  variant?: string
}

/**
 * What has happened to a shopper so far, in real epoch ms: when they acted (the event's timestamp)
 * and when Nudge acknowledged it (stored). A cart's journey clock starts when its trigger was stored.
 */
export interface ShopperState {
  carts: Map<string, { addedAt?: number; purchasedAt?: number; purchaseStoredAt?: number; reminders: string[] }>
  optedOutAt?: number
  optOutStoredAt?: number
  unsubscribedAt?: number
}

export interface MailReaction {
  ordinal: number
  kind: 'reminder' | 'other'
  cartId?: string
  arm?: string
  delayMinutes?: number
  contentVariant: string
  /** The scenario's kind of a mail that is not a cart reminder (`effects.mailKinds`), when one matches. */
  mailKind?: string
  /** Whether this is the first reminder of a clean abandoned cart (counted in the arm's ground truth). */
  countsForArm: boolean
  falseTriggers: FalseTriggerKind[]
  /** Real ms after `receivedAt`. */
  open?: { afterMs: number }
  click?: { afterMs: number; link: number }
  unsubscribe?: { afterMs: number }
  purchase?: { afterMs: number; cause: 'reminder' | 'organic' | 'mail'; cartId?: string; revenue: number; event: SimEvent }
}

export function reactToMail(
  s: Scenario,
  runId: string,
  plan: ShopperPlan,
  state: ShopperState,
  mail: ReceivedMail,
  ordinal: number,
): MailReaction {
  const e = s.engagement
  const rng = Random.for(s.seed, 'mail', plan.index, ordinal)
  const falseTriggers: FalseTriggerKind[] = []
  if (state.optedOutAt !== undefined && mail.receivedAt > state.optedOutAt) falseTriggers.push('mailAfterOptOut')
  if (state.optOutStoredAt !== undefined && mail.receivedAt > state.optOutStoredAt) falseTriggers.push('mailAfterStoredOptOut')
  if (state.unsubscribedAt !== undefined && mail.receivedAt > state.unsubscribedAt) falseTriggers.push('mailAfterUnsubscribe')
  if (plan.profile.test && !mail.test) falseTriggers.push('testMailUnflagged')

  const named = mail.cartIds.map((id) => plan.carts.find((c) => c.cartId === id)).find((c) => c !== undefined)
  const looksLikeReminder = new RegExp(s.effects.reminderSubjectPattern, 'i').test(mail.subject)
  const cart =
    named ?? (looksLikeReminder ? (plan.carts.find((c) => c.kind === 'abandoned') ?? plan.carts[plan.carts.length - 1]) : undefined)
  const variant = contentVariantOf(s, mail.subject)
  const reaction: MailReaction = {
    ordinal,
    kind: cart ? 'reminder' : 'other',
    contentVariant: variant.name,
    countsForArm: false,
    falseTriggers,
  }

  // Delays, always drawn in the same order so a mail's reaction does not depend on its branch.
  const openAfter = Math.max(e.humanFloorMs.open, simMinutesToMs(s, rng.uniform(e.openDelayMinutes.min, e.openDelayMinutes.max)))
  const clickAfter = Math.max(
    e.humanFloorMs.click,
    openAfter + simMinutesToMs(s, rng.uniform(e.clickDelayMinutes.min, e.clickDelayMinutes.max)),
  )
  const buyAfter = clickAfter + simMinutesToMs(s, rng.uniform(e.purchaseDelayMinutes.min, e.purchaseDelayMinutes.max))
  const unsubAfter = openAfter + simMinutesToMs(s, rng.uniform(e.clickDelayMinutes.min, e.clickDelayMinutes.max))
  const u = { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() }

  let buys: { cause: 'reminder' | 'organic' | 'mail'; cart?: CartPlan } | undefined
  if (cart) {
    const cs = state.carts.get(cart.cartId)
    reaction.cartId = cart.cartId
    if (cs?.purchasedAt !== undefined && mail.receivedAt > cs.purchasedAt) falseTriggers.push('reminderAfterPurchase')
    if (cs?.purchaseStoredAt !== undefined && mail.receivedAt > cs.purchaseStoredAt) falseTriggers.push('reminderAfterStoredPurchase')
    if (cs && cs.reminders.length > 0 && !cs.reminders.includes(mail.messageId)) falseTriggers.push('duplicateReminder')
    if (cart.kind === 'stale') falseTriggers.push('reminderForStaleCart')
    if (cs?.addedAt !== undefined) {
      reaction.delayMinutes = msToSimMinutes(s, mail.receivedAt - cs.addedAt)
      reaction.arm = armOf(s, reaction.delayMinutes)
    }
    // A variant the mail names (when the template shows it) decides the arm over the timing.
    if (mail.variant !== undefined && s.effects.reminderArms.some((a) => a.name === mail.variant)) reaction.arm = mail.variant
    const clean =
      cart.kind === 'abandoned' && !plan.profile.test && !cart.races.some((r) => r === 'purchaseBeforeReminder' || r === 'optOutMidJourney')
    const first = !cs || cs.reminders.length === 0
    const open = cs?.purchasedAt === undefined
    if (clean && first && open && reaction.arm !== undefined && falseTriggers.length === 0) {
      // The cart's own draws: whichever arm Nudge chose, the same person answers the same way.
      reaction.countsForArm = true
      Object.assign(u, cart.draws)
      const arm = s.effects.reminderArms.find((a) => a.name === reaction.arm)!
      const opened = u.open < e.open
      const clicked = opened && u.click < e.clickGivenOpen
      if (clicked && cart.organic) buys = { cause: 'organic', cart }
      else if (clicked && u.buy < reminderPurchaseGivenClick(s, arm.lift)) buys = { cause: 'reminder', cart }
    }
  } else if (state.optedOutAt === undefined) {
    const kind = mailKindOf(s, mail.subject)
    if (kind) {
      // The shopper's own draws for this kind: whichever arm or order brought it, the same answer.
      reaction.mailKind = kind.name
      Object.assign(u, mailKindDraws(s, plan.index, kind.name))
      buys = u.open < e.open && u.click < e.clickGivenOpen && u.buy < kind.purchaseGivenClick ? { cause: 'mail' } : undefined
    } else if (plan.lastViewed)
      buys = u.open < e.open && u.click < e.clickGivenOpen && u.buy < e.purchaseGivenClick ? { cause: 'mail' } : undefined
  }

  if (u.open < e.open && mail.pixelUrl) reaction.open = { afterMs: openAfter }
  const clicked = u.open < e.open && u.click < e.clickGivenOpen && mail.links.length > 0
  if (clicked) {
    // A reminder's cart link if there is one, else the first link.
    const link = Math.max(
      0,
      mail.links.findIndex((l) => (l.target ?? '').includes('cart_id=')),
    )
    reaction.click = { afterMs: clickAfter, link }
  } else if (u.open < e.open && mail.unsubscribeUrl && u.unsubscribe < e.unsubscribeGivenOpen)
    reaction.unsubscribe = { afterMs: unsubAfter }

  if (buys && clicked) {
    const mid = `${runId}-${plan.index}-r${ordinal}`
    const ids = { userId: plan.profile.userId, anonymousId: plan.profile.anonymousId }
    if (buys.cart) {
      const props = orderProperties(buys.cart, variant.revenueMultiplier, s.catalog.currency)
      reaction.purchase = {
        afterMs: buyAfter,
        cause: buys.cause,
        cartId: buys.cart.cartId,
        revenue: props.revenue as number,
        event: {
          type: 'track',
          messageId: `${mid}-buy`,
          ...ids,
          event: 'Order Completed',
          properties: { ...props, source_message_id: mail.messageId },
        },
      }
    } else {
      const product = plan.mailProduct ?? plan.lastViewed!
      const cart = {
        cartId: `${runId}-c${plan.index}-r${ordinal}`,
        orderId: `${runId}-o${plan.index}-r${ordinal}`,
        products: [product],
        subtotal: product.price,
      }
      const props = orderProperties(cart, variant.revenueMultiplier, s.catalog.currency)
      reaction.purchase = {
        afterMs: buyAfter,
        cause: 'mail',
        revenue: props.revenue as number,
        event: {
          type: 'track',
          messageId: `${mid}-buy`,
          ...ids,
          event: 'Order Completed',
          properties: { ...props, source_message_id: mail.messageId },
        },
      }
    }
  }
  return reaction
}

/** A stream id for one run (used when the scenario does not fix `runId`). */
export function defaultRunId(seed: number, now: number): string {
  return `r${seed}-${now.toString(36)}`
}

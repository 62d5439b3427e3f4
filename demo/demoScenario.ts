import { REMINDER_DELAY_FLAG, reminderContentExperiment, reminderTimingExperiment } from '../experiments/examples.js'
import { BROWSE_DELAY_FLAG, CONTENT_DELAY_FLAG, browseExperiment, cartAbandonment, journeyDelayFlags } from '../journeys/examples.js'
import type { SimulationPlan } from './simulator/model.js'
import { meanOver, potentialOutcomes } from './simulator/potentialOutcomes.js'
import type { Scenario, ScenarioInput } from './simulator/scenario.js'

/**
 * What `npm run demo` sets up and simulates: the seed's five journeys, every delay compressed
 * through its duration flag — the cart journey with two experiments on it (reminder timing: 15 min
 * vs 1 h vs a holdout that gets nothing; reminder content: the template's subject vs an urgency
 * subject), browse abandonment with its offer-vs-social-proof experiment, content follow-up,
 * post-purchase loyalty and re-engagement — and shoppers who exercise every trigger: they browse
 * without buying, read posts, come back after a purchase, or were last active 40 days ago. Their
 * true effects are large enough that a few minutes of traffic give intervals that say something.
 * The truth printed next to each estimate comes from the shoppers' potential outcomes
 * (simulator/potentialOutcomes.ts).
 */

/** Ground truth: a reminder at 15 min converts 30 pp of abandoned carts, one at 1 h 10 pp, over 5 % that buy anyway; urgency makes a clicked purchase 2× the cart. */
const ARMS = [
  { name: 'm15', delayMinutes: 15, lift: 0.3 },
  { name: 'h1', delayMinutes: 60, lift: 0.1 },
]
const SHOPPERS_PER_SECOND = 4
const URGENCY = { name: 'urgency', subjectPattern: 'last chance', revenueMultiplier: 2 }
/**
 * Browse abandonment's 72 h become 6 h of shopper time: long enough that every cart is decided
 * (the last organic purchase comes 300 min after the cart), so the browse mail goes to exactly
 * the viewers who bought nothing. Content follow-up's 2 h stay 2 h of shopper time.
 */
const BROWSE_MINUTES = 360
const CONTENT_MINUTES = 120
/** Ground truth for the other journeys' mail, by subject: the tailored offer sells 2½ × what social proof does. */
export const DEMO_MAIL_KINDS = [
  { name: 'offer', subjectPattern: '^Still thinking about', purchaseGivenClick: 0.5 },
  { name: 'proof', subjectPattern: 'is popular this week', purchaseGivenClick: 0.2 },
  { name: 'loyalty', subjectPattern: 'loyalty treat', purchaseGivenClick: 0.5 },
  { name: 'related', subjectPattern: '^More like', purchaseGivenClick: 0.4 },
  { name: 'winback', subjectPattern: '^We miss you', purchaseGivenClick: 0.4 },
]
/** The mail a second visit after a purchase brings (post-purchase loyalty). */
const RETURN_KIND = 'loyalty'

export function demoScenario(o: {
  seed: number
  shoppers: number
  minutesPerSecond: number
  testIds: string[]
  shoppersPerSecond?: number
}): ScenarioInput {
  return {
    seed: o.seed,
    shoppers: o.shoppers,
    timeScale: { minutesPerSecond: o.minutesPerSecond },
    // Shoppers arrive at SHOPPERS_PER_SECOND however many there are: a pace the journeys keep up
    // with on 2 cores (trigger latency well under the gap between the arms).
    arrivalMinutes: Math.max(60, (o.shoppers / (o.shoppersPerSecond ?? SHOPPERS_PER_SECOND)) * o.minutesPerSecond),
    catalog: { price: { min: 30, max: 90 } },
    // Most shoppers browse products (and most fill a cart); some only read posts, some were last
    // active 40 days ago; everyone who buys in session comes back once (a second visit).
    behavior: {
      sessions: { min: 1, max: 1 },
      pageViews: { min: 1, max: 2 },
      productViews: { min: 1, max: 2 },
      searchRate: 0.2,
      itemsPerCart: { min: 1, max: 2 },
      cartRate: 0.9,
      checkoutInSession: 0.1,
      readerRate: 0.08,
      lapsedRate: 0.06,
      lapsedDays: 40,
      returnAfterCheckout: 1,
      returnMinutes: { min: 60, max: 150 },
    },
    effects: {
      baseConversion: 0.05,
      reminderArms: ARMS,
      contentVariants: [URGENCY],
      organicPurchaseMinutes: { min: 200, max: 300 },
      mailKinds: DEMO_MAIL_KINDS,
    },
    // Every mail that sells is of a kind with its own draws per shopper (mail of no kind sells
    // nothing) and nobody unsubscribes, so the truth below is exact. Shoppers watch their mailbox
    // long enough for a late 1 h reminder and for the browse mail; organic purchases come after
    // every reminder's click (the click floor is 11 s of real time).
    engagement: {
      open: 0.7,
      clickGivenOpen: 0.6,
      purchaseGivenClick: 0,
      unsubscribeGivenOpen: 0,
      watchMinutes: 150,
      watchFromArrivalMinutes: BROWSE_MINUTES + 90,
    },
    races: { testAccount: { rate: 0.02, ids: o.testIds } },
  }
}

/** The experiments, the cart journey and every journey's delay flag, with shopper time as real seconds. */
export function demoDefinitions(minutesPerSecond: number) {
  const seconds = (minutes: number) => `${(minutes / minutesPerSecond).toFixed(2)}s`
  const timing = {
    ...reminderTimingExperiment,
    variants: reminderTimingExperiment.variants.map((v) =>
      'payload' in v ? { ...v, payload: { flags: { [REMINDER_DELAY_FLAG]: seconds(v.key === 'm15' ? 15 : 60) } } } : v,
    ),
    primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' }],
  }
  const content = {
    ...reminderContentExperiment,
    primaryMetric: { event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' }],
  }
  const browse = {
    ...browseExperiment,
    primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' }],
  }
  const flag = { key: REMINDER_DELAY_FLAG, type: 'duration', defaultValue: seconds(60), rules: [{ id: 'timing', experiment: timing.key }] }
  const minutes: Record<string, number> = { [BROWSE_DELAY_FLAG]: BROWSE_MINUTES, [CONTENT_DELAY_FLAG]: CONTENT_MINUTES }
  // The seed's own delay flags with compressed defaults: the journeys are the seed's, unchanged.
  const delayFlags = journeyDelayFlags.map((f) => ({ ...f, defaultValue: seconds(minutes[f.key]!) }))
  const [timingStep, wait, reminder] = cartAbandonment.steps
  const journey = {
    ...cartAbandonment,
    steps: [timingStep, wait, { id: 'content', type: 'experiment', experiment: content.key }, reminder],
  }
  return {
    timing,
    content,
    browse,
    flag,
    delayFlags,
    journey,
    delays: { m15: seconds(15), h1: seconds(60), browse: seconds(BROWSE_MINUTES), content: seconds(CONTENT_MINUTES) },
  }
}

/** Experiment key → metric name → arm → relative lift against the control that the shoppers' potential outcomes give. */
export type Truth = Record<string, Record<string, Record<string, number>>>

/** The shoppers' potential outcomes given Nudge's browse assignment (the mail kinds are named after its variants). */
export function demoPotentials(s: Scenario, plan: SimulationPlan, variantOf: (experiment: string, userId: string) => string | null) {
  return potentialOutcomes(s, plan, { browseKindOf: (u) => variantOf(browseExperiment.key, u) ?? undefined, returnKind: RETURN_KIND })
}

/**
 * The true relative lifts of the three experiments for these shoppers. `variantOf` is Nudge's own
 * assignment (deterministic per experiment and user): the timing arm decides the reminder's
 * delay, the content arm its multiplier, the browse arm which mail a viewer who bought nothing
 * gets — a user's outcome under another arm of one keeps their arms of the others.
 */
export function demoTruth(s: Scenario, plan: SimulationPlan, variantOf: (experiment: string, userId: string) => string | null): Truth {
  const keys = { timing: reminderTimingExperiment.key, content: reminderContentExperiment.key, browse: browseExperiment.key }
  const armOf = (variant: string | null) => (variant === 'm15' || variant === 'h1' ? variant : undefined)
  const multiplierOf = (userId: string) => (variantOf(keys.content, userId) === URGENCY.name ? URGENCY.revenueMultiplier : 1)
  const users = demoPotentials(s, plan, variantOf)
  const exposed = users.filter((u) => u.exposed)
  const lift = (treat: number, control: number) => treat / control - 1
  const timing: Record<string, Record<string, number>> = { conversion: {}, revenue: {} }
  const control = {
    conversion: meanOver(exposed, (u) => u.conversion('h1')),
    revenue: meanOver(exposed, (u) => u.revenue('h1', multiplierOf(u.userId))),
  }
  for (const v of ['m15', 'holdout']) {
    timing.conversion![v] = lift(
      meanOver(exposed, (u) => u.conversion(armOf(v))),
      control.conversion,
    )
    timing.revenue![v] = lift(
      meanOver(exposed, (u) => u.revenue(armOf(v), multiplierOf(u.userId))),
      control.revenue,
    )
  }
  // Content is assigned when the reminder is due: users whose cart is still open and not in the timing holdout.
  const reminded = users.filter((u) => u.reminded && armOf(variantOf(keys.timing, u.userId)) !== undefined)
  const revenue = (multiplier: number) => meanOver(reminded, (u) => u.revenue(armOf(variantOf(keys.timing, u.userId)), multiplier))
  const content = { revenue: { [URGENCY.name]: lift(revenue(URGENCY.revenueMultiplier), revenue(1)) }, conversion: { [URGENCY.name]: 0 } }
  // Browse is assigned when its delay is up: viewers who by then (under their timing arm) bought nothing.
  const browsed = users.filter((u) => u.browseExposed(armOf(variantOf(keys.timing, u.userId))))
  const [offer, ...treatments] = browseExperiment.variants.map((v) => v.key)
  const browse: Record<string, Record<string, number>> = { conversion: {}, revenue: {} }
  for (const v of treatments) {
    browse.conversion![v] = lift(
      meanOver(browsed, (u) => (u.mail(v).bought ? 1 : 0)),
      meanOver(browsed, (u) => (u.mail(offer!).bought ? 1 : 0)),
    )
    browse.revenue![v] = lift(
      meanOver(browsed, (u) => u.mail(v).revenue),
      meanOver(browsed, (u) => u.mail(offer!).revenue),
    )
  }
  return { [keys.timing]: timing, [keys.content]: content, [keys.browse]: browse }
}

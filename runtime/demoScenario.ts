import { REMINDER_DELAY_FLAG, reminderContentExperiment, reminderTimingExperiment } from '../experiments/examples.js'
import { cartAbandonment } from '../journeys/examples.js'
import type { SimulationPlan } from '../simulator/model.js'
import { meanOver, potentialOutcomes } from '../simulator/potentialOutcomes.js'
import type { Scenario, ScenarioInput } from '../simulator/scenario.js'

/**
 * What `npm run demo` sets up and simulates: the seed's cart journey with two experiments on it —
 * reminder timing (15 min vs 1 h vs a holdout that gets nothing) and reminder content (the
 * template's subject vs an urgency subject) — with the delays compressed like the simulated clock,
 * and shoppers whose true effects are large enough that a few minutes of traffic give intervals
 * that say something. The truth printed next to each estimate comes from the shoppers' potential
 * outcomes (simulator/potentialOutcomes.ts).
 */

/** Ground truth: a reminder at 15 min converts 30 pp of abandoned carts, one at 1 h 10 pp, over 5 % that buy anyway; urgency makes a clicked purchase 2× the cart. */
const ARMS = [
  { name: 'm15', delayMinutes: 15, lift: 0.3 },
  { name: 'h1', delayMinutes: 60, lift: 0.1 },
]
const SHOPPERS_PER_SECOND = 4
const URGENCY = { name: 'urgency', subjectPattern: 'last chance', revenueMultiplier: 2 }

export function demoScenario(o: { seed: number; shoppers: number; minutesPerSecond: number; testIds: string[]; shoppersPerSecond?: number }): ScenarioInput {
  return {
    seed: o.seed,
    shoppers: o.shoppers,
    timeScale: { minutesPerSecond: o.minutesPerSecond },
    // Shoppers arrive at SHOPPERS_PER_SECOND however many there are: a pace the journeys keep up
    // with on 2 cores (trigger latency well under the gap between the arms).
    arrivalMinutes: Math.max(60, (o.shoppers / (o.shoppersPerSecond ?? SHOPPERS_PER_SECOND)) * o.minutesPerSecond),
    catalog: { price: { min: 30, max: 90 } },
    behavior: { sessions: { min: 1, max: 1 }, pageViews: { min: 1, max: 2 }, productViews: { min: 1, max: 2 }, searchRate: 0.2, itemsPerCart: { min: 1, max: 2 }, cartRate: 0.9, checkoutInSession: 0.1 },
    effects: { baseConversion: 0.05, reminderArms: ARMS, contentVariants: [URGENCY], organicPurchaseMinutes: { min: 200, max: 300 } },
    // Only reminders sell (no purchase from other mail), so the truth below is exact. Shoppers
    // watch their mailbox long enough for a late 1 h reminder, and organic purchases come after
    // every reminder's click (the click floor is 11 s of real time).
    engagement: { open: 0.7, clickGivenOpen: 0.6, purchaseGivenClick: 0, watchMinutes: 150 },
    races: { testAccount: { rate: 0.02, ids: o.testIds } },
  }
}

/** The experiments and the cart journey, with 15 min and 1 h of shopper time as real seconds. */
export function demoDefinitions(minutesPerSecond: number) {
  const seconds = (minutes: number) => `${(minutes / minutesPerSecond).toFixed(2)}s`
  const timing = {
    ...reminderTimingExperiment,
    variants: reminderTimingExperiment.variants.map((v) => ('payload' in v ? { ...v, payload: { flags: { [REMINDER_DELAY_FLAG]: seconds(v.key === 'm15' ? 15 : 60) } } } : v)),
    primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' }],
  }
  const content = {
    ...reminderContentExperiment,
    primaryMetric: { event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' },
    secondaryMetrics: [{ event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' }],
  }
  const flag = { key: REMINDER_DELAY_FLAG, type: 'duration', defaultValue: seconds(60), rules: [{ id: 'timing', experiment: timing.key }] }
  const [timingStep, wait, reminder] = cartAbandonment.steps
  const journey = { ...cartAbandonment, steps: [timingStep, wait, { id: 'content', type: 'experiment', experiment: content.key }, reminder] }
  return { timing, content, flag, journey, delays: { m15: seconds(15), h1: seconds(60) } }
}

/** Experiment key → metric name → arm → relative lift against the control that the shoppers' potential outcomes give. */
export type Truth = Record<string, Record<string, Record<string, number>>>

/**
 * The true relative lifts of both experiments for these shoppers. `variantOf` is Nudge's own
 * assignment (deterministic per experiment and user): the timing arm decides the reminder's
 * delay, the content arm its multiplier — a user's outcome under another timing arm keeps their
 * content arm, and the other way round.
 */
export function demoTruth(s: Scenario, plan: SimulationPlan, variantOf: (experiment: string, userId: string) => string | null): Truth {
  const keys = { timing: reminderTimingExperiment.key, content: reminderContentExperiment.key }
  const armOf = (variant: string | null) => (variant === 'm15' || variant === 'h1' ? variant : undefined)
  const multiplierOf = (userId: string) => (variantOf(keys.content, userId) === URGENCY.name ? URGENCY.revenueMultiplier : 1)
  const users = potentialOutcomes(s, plan)
  const exposed = users.filter((u) => u.exposed)
  const lift = (treat: number, control: number) => treat / control - 1
  const timing: Record<string, Record<string, number>> = { conversion: {}, revenue: {} }
  const control = { conversion: meanOver(exposed, (u) => u.conversion('h1')), revenue: meanOver(exposed, (u) => u.revenue('h1', multiplierOf(u.userId))) }
  for (const v of ['m15', 'holdout']) {
    timing.conversion![v] = lift(meanOver(exposed, (u) => u.conversion(armOf(v))), control.conversion)
    timing.revenue![v] = lift(meanOver(exposed, (u) => u.revenue(armOf(v), multiplierOf(u.userId))), control.revenue)
  }
  // Content is assigned when the reminder is due: users whose cart is still open and not in the timing holdout.
  const reminded = users.filter((u) => u.reminded && armOf(variantOf(keys.timing, u.userId)) !== undefined)
  const revenue = (multiplier: number) => meanOver(reminded, (u) => u.revenue(armOf(variantOf(keys.timing, u.userId)), multiplier))
  const content = { revenue: { [URGENCY.name]: lift(revenue(URGENCY.revenueMultiplier), revenue(1)) }, conversion: { [URGENCY.name]: 0 } }
  return { [keys.timing]: timing, [keys.content]: content }
}

import type { CartPlan, SimulationPlan } from './model.js'
import { type Scenario, reminderPurchaseGivenClick } from './scenario.js'

/**
 * The ground truth an experiment on the simulated shoppers estimates. Every cart carries the
 * uniform draws that decide how its shopper answers a reminder (`CartPlan.draws`), whatever the
 * arm — so each shopper's outcome under every arm is known in advance (their potential outcomes).
 * An experiment measures a user's conversion and revenue after exposure; the truth for an arm is
 * the mean of that user's outcome *had they been in that arm*, over the users the experiment
 * exposes. Comparing those means is what an estimate's interval should cover.
 *
 * Simplifications, kept true by the scenario the demo uses: a mail that is not a cart reminder
 * leads to no purchase (`engagement.purchaseGivenClick` 0), and reminders arrive within their arm
 * (Nudge's latency well under the gap between the arms' delays).
 */

/** One user's outcome for a reminder arm (`undefined`: no reminder, the holdout) and content multiplier. */
export interface ShopperPotential {
  userId: string
  /** Has a cart whose journey run reaches its experiment step (not only a stale one): exposed to the timing experiment. */
  exposed: boolean
  /** Has a cart that reaches the reminder step with no race in the way: exposed to a content experiment on the reminder. */
  reminded: boolean
  conversion(arm: string | undefined): number
  revenue(arm: string | undefined, multiplier: number): number
}

interface CartOutcome {
  bought(arm: string | undefined): boolean
  revenue(arm: string | undefined, multiplier: number): number
}

export function potentialOutcomes(s: Scenario, plan: SimulationPlan): ShopperPotential[] {
  const clickRate = { open: s.engagement.open, click: s.engagement.clickGivenOpen }
  const buyGivenClick = new Map(s.effects.reminderArms.map((a) => [a.name, reminderPurchaseGivenClick(s, a.lift)]))
  const outcome = (cart: CartPlan, remindable: boolean): CartOutcome => {
    if (cart.kind === 'checkout' || cart.races.includes('purchaseBeforeReminder')) return { bought: () => true, revenue: () => cart.subtotal }
    const organic = { bought: () => cart.organic, revenue: () => (cart.organic ? cart.subtotal : 0) }
    if (!remindable || cart.kind !== 'abandoned') return organic
    const clicked = cart.draws.open < clickRate.open && cart.draws.click < clickRate.click
    // A click on the reminder buys the cart now (at the content's multiplier) if it was going to be
    // bought anyway, or if the arm's effect converts it; otherwise the organic purchase (if any) follows.
    const viaClick = (arm: string | undefined) => arm !== undefined && clicked && (cart.organic || cart.draws.buy < (buyGivenClick.get(arm) ?? 0))
    return {
      bought: (arm) => viaClick(arm) || cart.organic,
      revenue: (arm, multiplier) => (viaClick(arm) ? cart.subtotal * multiplier : organic.revenue()),
    }
  }
  return plan.shoppers
    .filter((sh) => !sh.profile.test)
    .map((sh) => {
      // After an opt-out no later cart gets a reminder, whatever the arm.
      let optedOut = false
      const carts = sh.carts.map((c) => {
        const o = outcome(c, !optedOut && !c.races.includes('optOutMidJourney'))
        if (c.races.includes('optOutMidJourney')) optedOut = true
        return o
      })
      const real = sh.carts.filter((c) => c.kind !== 'stale')
      return {
        userId: sh.profile.userId,
        exposed: real.length > 0,
        reminded: !sh.carts.some((c) => c.races.includes('optOutMidJourney') || c.races.includes('purchaseBeforeReminder')) && real.some((c) => c.kind === 'abandoned'),
        conversion: (arm) => (carts.some((c) => c.bought(arm)) ? 1 : 0),
        revenue: (arm, multiplier) => carts.reduce((sum, c) => sum + c.revenue(arm, multiplier), 0),
      }
    })
}

/** Mean of a function over users (NaN for none: no truth to compare with). */
export function meanOver<T>(users: T[], f: (u: T) => number): number {
  return users.length ? users.reduce((sum, u) => sum + f(u), 0) / users.length : Number.NaN
}

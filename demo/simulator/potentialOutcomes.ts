import { type CartPlan, type SimulationPlan, mailKindDraws } from './model.js'
import { type Scenario, reminderPurchaseGivenClick } from './scenario.js'

/**
 * The ground truth an experiment on the simulated shoppers estimates. Every cart carries the
 * uniform draws that decide how its shopper answers a reminder (`CartPlan.draws`), and every
 * shopper has their own draws for each kind of other mail (`mailKindDraws`), whatever the arm —
 * so each shopper's outcome under every arm is known in advance (their potential outcomes).
 * An experiment measures a user's conversion and revenue after exposure; the truth for an arm is
 * the mean of that user's outcome *had they been in that arm*, over the users the experiment
 * exposes. Comparing those means is what an estimate's interval should cover.
 *
 * Simplifications, kept true by the scenario the demo uses: mail of no kind leads to no purchase
 * (`engagement.purchaseGivenClick` 0); nobody unsubscribes; reminders arrive within their arm
 * (Nudge's latency well under the gap between the arms' delays); every cart is decided (bought or
 * not) before a browse-abandonment run sends, so a viewer gets the browse mail exactly when they
 * have bought nothing and not opted out; no frequency cap holds a second mail back.
 */

/** What else a shopper's outcome depends on besides the reminder arm. */
export interface PotentialOptions {
  /** The kind of mail (`effects.mailKinds`) a viewer's browse-abandonment run sends them — Nudge's assignment; undefined: none. */
  browseKindOf?: (userId: string) => string | undefined
  /** The kind of mail a second visit after an in-session purchase brings (post-purchase loyalty); undefined: none. */
  returnKind?: string
}

/** One user's outcome for a reminder arm (`undefined`: no reminder, the holdout) and content multiplier. */
export interface ShopperPotential {
  userId: string
  /** Has a cart whose journey run reaches its experiment step (not only a stale one): exposed to the timing experiment. */
  exposed: boolean
  /** Has a cart that reaches the reminder step with no race in the way: exposed to a content experiment on the reminder. */
  reminded: boolean
  /** Viewed a product (a browse-abandonment run starts) and never withdrew consent. */
  viewed: boolean
  /** Under this reminder arm the browse-abandonment run reaches its experiment: viewed and bought no cart. */
  browseExposed(arm: string | undefined): boolean
  /** How the shopper answers a mail of this kind: bought (after a click) and what. */
  mail(kind: string): { bought: boolean; revenue: number }
  /** Every purchase, whatever brought it: carts, the browse mail (under this arm), the loyalty mail. */
  conversion(arm: string | undefined): number
  revenue(arm: string | undefined, multiplier: number): number
}

interface CartOutcome {
  bought(arm: string | undefined): boolean
  revenue(arm: string | undefined, multiplier: number): number
}

const round2 = (n: number) => Math.round(n * 100) / 100

export function potentialOutcomes(s: Scenario, plan: SimulationPlan, o: PotentialOptions = {}): ShopperPotential[] {
  const clickRate = { open: s.engagement.open, click: s.engagement.clickGivenOpen }
  const buyGivenClick = new Map(s.effects.reminderArms.map((a) => [a.name, reminderPurchaseGivenClick(s, a.lift)]))
  const kinds = new Map(s.effects.mailKinds.map((k) => [k.name, k]))
  const outcome = (cart: CartPlan, remindable: boolean): CartOutcome => {
    if (cart.kind === 'checkout' || cart.races.includes('purchaseBeforeReminder'))
      return { bought: () => true, revenue: () => cart.subtotal }
    const organic = { bought: () => cart.organic, revenue: () => (cart.organic ? cart.subtotal : 0) }
    if (!remindable || cart.kind !== 'abandoned') return organic
    const clicked = cart.draws.open < clickRate.open && cart.draws.click < clickRate.click
    // A click on the reminder buys the cart now (at the content's multiplier) if it was going to be
    // bought anyway, or if the arm's effect converts it; otherwise the organic purchase (if any) follows.
    const viaClick = (arm: string | undefined) =>
      arm !== undefined && clicked && (cart.organic || cart.draws.buy < (buyGivenClick.get(arm) ?? 0))
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
        const out = outcome(c, !optedOut && !c.races.includes('optOutMidJourney'))
        if (c.races.includes('optOutMidJourney')) optedOut = true
        return out
      })
      const real = sh.carts.filter((c) => c.kind !== 'stale')
      const product = sh.mailProduct ?? sh.lastViewed
      const mail = (kind: string) => {
        const k = kinds.get(kind)
        const d = mailKindDraws(s, sh.index, kind)
        const bought =
          k !== undefined && product !== undefined && d.open < clickRate.open && d.click < clickRate.click && d.buy < k.purchaseGivenClick
        return { bought, revenue: bought ? round2(product!.price) : 0 }
      }
      const viewed = !optedOut && sh.steps.some((st) => st.race !== 'staleEvent' && st.events.some((e) => e.event === 'Product Viewed'))
      const cartBought = (arm: string | undefined) => carts.some((c) => c.bought(arm))
      const browseExposed = (arm: string | undefined) => viewed && !cartBought(arm)
      const browse = (arm: string | undefined) => {
        const kind = o.browseKindOf?.(sh.profile.userId)
        return kind !== undefined && browseExposed(arm) ? mail(kind) : { bought: false, revenue: 0 }
      }
      const loyalty = o.returnKind !== undefined && sh.returnVisit !== undefined ? mail(o.returnKind) : { bought: false, revenue: 0 }
      return {
        userId: sh.profile.userId,
        exposed: real.length > 0,
        reminded:
          !sh.carts.some((c) => c.races.includes('optOutMidJourney') || c.races.includes('purchaseBeforeReminder')) &&
          real.some((c) => c.kind === 'abandoned'),
        viewed,
        browseExposed,
        mail,
        conversion: (arm) => (cartBought(arm) || browse(arm).bought || loyalty.bought ? 1 : 0),
        revenue: (arm, multiplier) => carts.reduce((sum, c) => sum + c.revenue(arm, multiplier), 0) + browse(arm).revenue + loyalty.revenue,
      }
    })
}

/** Mean of a function over users (NaN for none: no truth to compare with). */
export function meanOver<T>(users: T[], f: (u: T) => number): number {
  return users.length ? users.reduce((sum, u) => sum + f(u), 0) / users.length : Number.NaN
}

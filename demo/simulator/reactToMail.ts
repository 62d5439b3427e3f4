import { Random } from './random.js'
import { type Scenario, msToSimMinutes, reminderPurchaseGivenClick, simMinutesToMs } from './scenario.js'
import type { CartPlan, FalseTriggerKind, MailReaction, ReceivedMail, ShopperPlan, ShopperState, SimEvent } from './modelTypes.js'
import { armOf, contentVariantOf, mailKindDraws, mailKindOf } from './groundTruth.js'
import { orderProperties } from './orders.js'

/**
 * What a shopper does with a mail Nudge sent them, from the plan, what has happened so far and the
 * mail alone: the reactions depend on nothing but the shopper's draws and what Nudge did (which
 * mail, when).
 */
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
  const falseTriggers = mailFalseTriggers(plan, state, mail)
  const cart = cartOf(s, plan, mail)
  const variant = contentVariantOf(s, mail.subject)
  const reaction: MailReaction = {
    ordinal,
    kind: cart ? 'reminder' : 'other',
    contentVariant: variant.name,
    countsForArm: false,
    falseTriggers,
  }
  const after = delays(s, rng)
  const u = { open: rng.next(), click: rng.next(), buy: rng.next(), unsubscribe: rng.next() }
  let buys: Buys | undefined
  if (cart) buys = answerReminder(s, plan, state, mail, cart, reaction, u)
  else if (state.optedOutAt === undefined) buys = answerOther(s, plan, mail, reaction, u)

  if (u.open < e.open && mail.pixelUrl) reaction.open = { afterMs: after.open }
  const clicked = u.open < e.open && u.click < e.clickGivenOpen && mail.links.length > 0
  if (clicked) {
    // A reminder's cart link if there is one, else the first link.
    const link = Math.max(
      0,
      mail.links.findIndex((l) => (l.target ?? '').includes('cart_id=')),
    )
    reaction.click = { afterMs: after.click, link }
  } else if (u.open < e.open && mail.unsubscribeUrl && u.unsubscribe < e.unsubscribeGivenOpen)
    reaction.unsubscribe = { afterMs: after.unsubscribe }

  if (buys && clicked) reaction.purchase = purchase(s, runId, plan, mail, ordinal, buys, variant.revenueMultiplier, after.buy)
  return reaction
}

type Draws = { open: number; click: number; buy: number; unsubscribe: number }
type Buys = { cause: 'reminder' | 'organic' | 'mail'; cart?: CartPlan }

/** What is wrong with any mail arriving now: after an opt-out or unsubscribe, or a test account's mail unmarked. */
function mailFalseTriggers(plan: ShopperPlan, state: ShopperState, mail: ReceivedMail): FalseTriggerKind[] {
  const falseTriggers: FalseTriggerKind[] = []
  if (state.optedOutAt !== undefined && mail.receivedAt > state.optedOutAt) falseTriggers.push('mailAfterOptOut')
  if (state.optOutStoredAt !== undefined && mail.receivedAt > state.optOutStoredAt) falseTriggers.push('mailAfterStoredOptOut')
  if (state.unsubscribedAt !== undefined && mail.receivedAt > state.unsubscribedAt) falseTriggers.push('mailAfterUnsubscribe')
  if (plan.profile.test && !mail.test) falseTriggers.push('testMailUnflagged')
  return falseTriggers
}

/** The cart a reminder is about: the one its links name, else (a reminder by its subject) the abandoned or last cart. */
function cartOf(s: Scenario, plan: ShopperPlan, mail: ReceivedMail): CartPlan | undefined {
  const named = mail.cartIds.map((id) => plan.carts.find((c) => c.cartId === id)).find((c) => c !== undefined)
  const looksLikeReminder = new RegExp(s.effects.reminderSubjectPattern, 'i').test(mail.subject)
  return named ?? (looksLikeReminder ? (plan.carts.find((c) => c.kind === 'abandoned') ?? plan.carts[plan.carts.length - 1]) : undefined)
}

/** Delays, always drawn in the same order so a mail's reaction does not depend on its branch. */
function delays(s: Scenario, rng: Random) {
  const e = s.engagement
  const open = Math.max(e.humanFloorMs.open, simMinutesToMs(s, rng.uniform(e.openDelayMinutes.min, e.openDelayMinutes.max)))
  const click = Math.max(e.humanFloorMs.click, open + simMinutesToMs(s, rng.uniform(e.clickDelayMinutes.min, e.clickDelayMinutes.max)))
  const buy = click + simMinutesToMs(s, rng.uniform(e.purchaseDelayMinutes.min, e.purchaseDelayMinutes.max))
  const unsubscribe = open + simMinutesToMs(s, rng.uniform(e.clickDelayMinutes.min, e.clickDelayMinutes.max))
  return { open, click, buy, unsubscribe }
}

/** A cart reminder: its false triggers, its arm, and (first reminder of a clean abandoned cart) the cart's own answer. */
function answerReminder(
  s: Scenario,
  plan: ShopperPlan,
  state: ShopperState,
  mail: ReceivedMail,
  cart: CartPlan,
  reaction: MailReaction,
  u: Draws,
): Buys | undefined {
  const e = s.engagement
  const { falseTriggers } = reaction
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
  if (!(clean && first && open && reaction.arm !== undefined && falseTriggers.length === 0)) return undefined
  // The cart's own draws: whichever arm Nudge chose, the same person answers the same way.
  reaction.countsForArm = true
  Object.assign(u, cart.draws)
  const arm = s.effects.reminderArms.find((a) => a.name === reaction.arm)!
  const opened = u.open < e.open
  const clicked = opened && u.click < e.clickGivenOpen
  if (clicked && cart.organic) return { cause: 'organic', cart }
  if (clicked && u.buy < reminderPurchaseGivenClick(s, arm.lift)) return { cause: 'reminder', cart }
  return undefined
}

/** Another journey's mail: a kind's ground truth with the shopper's own draws for it, else the generic chance. */
function answerOther(s: Scenario, plan: ShopperPlan, mail: ReceivedMail, reaction: MailReaction, u: Draws): Buys | undefined {
  const e = s.engagement
  const kind = mailKindOf(s, mail.subject)
  if (kind) {
    // The shopper's own draws for this kind: whichever arm or order brought it, the same answer.
    reaction.mailKind = kind.name
    Object.assign(u, mailKindDraws(s, plan.index, kind.name))
    return u.open < e.open && u.click < e.clickGivenOpen && u.buy < kind.purchaseGivenClick ? { cause: 'mail' } : undefined
  }
  if (plan.lastViewed) return u.open < e.open && u.click < e.clickGivenOpen && u.buy < e.purchaseGivenClick ? { cause: 'mail' } : undefined
  return undefined
}

/** The Order Completed a click leads to: the reminded cart, or the product a journey's mail showed. */
function purchase(
  s: Scenario,
  runId: string,
  plan: ShopperPlan,
  mail: ReceivedMail,
  ordinal: number,
  buys: Buys,
  revenueMultiplier: number,
  afterMs: number,
): NonNullable<MailReaction['purchase']> {
  const product = plan.mailProduct ?? plan.lastViewed!
  const cart = buys.cart ?? {
    cartId: `${runId}-c${plan.index}-r${ordinal}`,
    orderId: `${runId}-o${plan.index}-r${ordinal}`,
    products: [product],
    subtotal: product.price,
  }
  const props = orderProperties(cart, revenueMultiplier, s.catalog.currency)
  const event: SimEvent = {
    type: 'track',
    messageId: `${runId}-${plan.index}-r${ordinal}-buy`,
    userId: plan.profile.userId,
    anonymousId: plan.profile.anonymousId,
    event: 'Order Completed',
    properties: { ...props, source_message_id: mail.messageId },
  }
  const revenue = props.revenue as number
  return buys.cart ? { afterMs, cause: buys.cause, cartId: buys.cart.cartId, revenue, event } : { afterMs, cause: 'mail', revenue, event }
}

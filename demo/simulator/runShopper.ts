import type { EventBatcher, NudgeClient } from './client.js'
import type { MailWatcher } from './engagement.js'
import {
  type MailReaction,
  type PlanStep,
  type RaceKind,
  type ReceivedMail,
  type ShopperPlan,
  type ShopperState,
  reactToMail,
} from './model.js'
import { type Scenario, simMinutesToMs } from './scenario.js'
import { SAMPLE_CAP, type ShopperOutcome, type Tally } from './tally.js'

const DAY_MS = 86_400_000

export interface ShopperContext {
  s: Scenario
  runId: string
  shopper: ShopperPlan
  t0: number
  client: NudgeClient
  batcher: EventBatcher
  watcher: MailWatcher
  tally: Tally
  sleepUntil: (at: number) => Promise<void>
}

/** Plays one shopper's plan in real time, watches their mailbox once they are identified, and answers what arrives. */
export async function runShopper(ctx: ShopperContext): Promise<ShopperOutcome> {
  return new ShopperRun(ctx).run()
}

type ContentCounts = { opened: number; clicked: number; purchases: number; revenue: number }

class ShopperRun {
  private readonly ctx: ShopperContext
  private readonly plan: ShopperPlan
  private readonly state: ShopperState = { carts: new Map() }
  private readonly outcome: ShopperOutcome
  private readonly sent = new Map<string, Record<string, unknown>>()
  private readonly reactions: Promise<void>[] = []
  private readonly start: number
  private watching = false
  private ordinal = 0

  constructor(ctx: ShopperContext) {
    this.ctx = ctx
    this.plan = ctx.shopper
    this.outcome = { plan: this.plan, state: this.state, firstReminder: new Map(), purchases: new Map(), mails: new Set() }
    this.start = ctx.t0 + simMinutesToMs(ctx.s, this.plan.arrival)
  }

  async run(): Promise<ShopperOutcome> {
    const { ctx, plan } = this
    try {
      await ctx.sleepUntil(this.start)
      if (plan.profile.test) ctx.tally.race('testAccount', plan.profile.userId)
      for (const step of plan.steps) await this.play(step)
      if (this.watching) {
        await ctx.sleepUntil(this.start + simMinutesToMs(ctx.s, plan.watchUntil))
        await ctx.watcher.finish(plan.profile.email)
      }
    } catch (err) {
      ctx.tally.error(err)
      if (this.watching) await ctx.watcher.finish(plan.profile.email).catch(() => {})
    }
    await Promise.all(this.reactions)
    return this.outcome
  }

  private cart(id: string) {
    let c = this.state.carts.get(id)
    if (!c) this.state.carts.set(id, (c = { reminders: [] }))
    return c
  }

  private mayBuy(cartId: string): boolean {
    return this.cart(cartId).purchasedAt === undefined
  }

  /** A purchase counts from the moment the shopper makes it (its timestamp), and is stored when acknowledged. */
  private async buy(cartId: string | undefined, send: (at: number) => Promise<number>): Promise<void> {
    const at = Date.now()
    const c = cartId ? this.cart(cartId) : undefined
    if (c) c.purchasedAt = at
    try {
      const ack = await send(at)
      if (c) c.purchaseStoredAt = ack
    } catch (err) {
      if (c) delete c.purchasedAt
      throw err
    }
  }

  /** One planned step, when it is due: sent (or skipped), then what it did to the shopper's state. */
  private async play(step: PlanStep): Promise<void> {
    const { ctx, plan, state } = this
    const { s, tally } = ctx
    let due = this.start + simMinutesToMs(s, step.at)
    if (step.anchor) {
      const added = state.carts.get(step.anchor.cartId)?.addedAt
      if (added !== undefined) due = added + simMinutesToMs(s, step.anchor.minutes) - step.anchor.leadMs
    }
    await ctx.sleepUntil(due)
    if (step.requiresOpenCart && !this.mayBuy(step.requiresOpenCart)) {
      tally.skipped += step.events.length
      return
    }
    const now = Date.now()
    let payloads: Record<string, unknown>[]
    if (step.resend) {
      payloads = step.events.flatMap((e) => (this.sent.has(e.messageId) ? [this.sent.get(e.messageId)!] : []))
      if (!payloads.length) return
    } else {
      const at = new Date(now - (step.staleDays ?? 0) * DAY_MS).toISOString()
      payloads = step.events.map((e) => ({ ...e, timestamp: at }))
    }
    const m = step.marks
    let ack = 0
    const send = async () => (ack = await ctx.batcher.send(payloads, { immediate: !!step.immediate }))
    if (m?.optedOut) state.optedOutAt ??= now
    if (m?.cartPurchased) await this.buy(m.cartPurchased, send)
    else await send()
    for (const p of payloads) this.sent.set(p.messageId as string, p)
    tally.sent(payloads as { messageId: string; type: string }[], { resend: !!step.resend, stale: step.race === 'staleEvent' })
    if (step.race) tally.race(step.race, raceSample(step.race, plan, step, payloads))
    this.marked(step, ack)
    if (!this.watching && payloads.some((p) => p.type === 'identify')) {
      this.watching = true
      ctx.watcher.watch(plan.profile.email, (mail) => this.onMail(mail))
    }
  }

  /** What a sent step did, as of its acknowledgement: a cart started or bought, an opt-out stored. */
  private marked(step: PlanStep, ack: number): void {
    const m = step.marks
    if (m?.cartAdded) this.cart(m.cartAdded).addedAt ??= ack
    if (m?.cartPurchased) {
      const c = this.plan.carts.find((x) => x.cartId === m.cartPurchased)!
      this.outcome.purchases.set(m.cartPurchased, {
        cause: step.label === 'race' ? `race:${step.race}` : step.label === 'organic-purchase' ? 'organic' : step.label,
        revenue: c.subtotal,
      })
    }
    if (m?.optedOut) this.state.optOutStoredAt ??= ack
  }

  private onMail(mail: ReceivedMail): void {
    const { ctx, plan, outcome } = this
    const { tally } = ctx
    const r = reactToMail(ctx.s, ctx.runId, plan, this.state, mail, this.ordinal++)
    outcome.mails.add(mail.messageId)
    tally.mail.seen++
    if (r.kind === 'reminder') tally.mail.reminders++
    else tally.mail.other++
    if (mail.test) tally.mail.testFlagged++
    for (const f of r.falseTriggers) {
      tally.falseTriggers[f]++
      if (tally.falseTriggerSamples[f].length < SAMPLE_CAP)
        tally.falseTriggerSamples[f].push(`${plan.profile.userId} ${mail.messageId}${r.cartId ? ` ${r.cartId}` : ''}`)
    }
    if (r.kind === 'reminder' && r.cartId) {
      const c = this.cart(r.cartId)
      if (!c.reminders.length && r.arm !== undefined) outcome.firstReminder.set(r.cartId, { arm: r.arm, delayMinutes: r.delayMinutes })
      c.reminders.push(mail.messageId)
    }
    const content = plan.profile.test ? undefined : tally.content.get(r.contentVariant)
    if (content) content.recipients++
    this.reactions.push(this.react(r, mail, content).catch((err) => tally.error(err)))
  }

  /** Opens, clicks, unsubscribes and buys, each when the reaction says. */
  private async react(r: MailReaction, mail: ReceivedMail, content: ContentCounts | undefined): Promise<void> {
    const { ctx } = this
    const { tally } = ctx
    if (r.open && mail.pixelUrl) {
      await ctx.sleepUntil(mail.receivedAt + r.open.afterMs)
      await ctx.client.open(mail.pixelUrl)
      tally.mail.opened++
      if (content) content.opened++
    }
    const link = r.click ? mail.links[r.click.link] : undefined
    if (r.click && link) {
      await ctx.sleepUntil(mail.receivedAt + r.click.afterMs)
      await ctx.client.click(link.url)
      tally.mail.clicked++
      if (content) content.clicked++
    }
    if (r.unsubscribe && mail.unsubscribeUrl) {
      await ctx.sleepUntil(mail.receivedAt + r.unsubscribe.afterMs)
      await ctx.client.unsubscribe(mail.unsubscribeUrl)
      this.state.unsubscribedAt ??= Date.now()
      tally.mail.unsubscribed++
    }
    if (r.purchase) await this.purchase(r.purchase, mail, content)
  }

  private async purchase(p: NonNullable<MailReaction['purchase']>, mail: ReceivedMail, content: ContentCounts | undefined): Promise<void> {
    const { ctx } = this
    const { tally } = ctx
    await ctx.sleepUntil(mail.receivedAt + p.afterMs)
    if (p.cartId && !this.mayBuy(p.cartId)) return
    await this.buy(p.cartId, async (at) => {
      const payload = { ...p.event, timestamp: new Date(at).toISOString() }
      const ack = await ctx.batcher.send([payload])
      tally.sent([payload], {})
      return ack
    })
    tally.mail.purchases[p.cause]++
    if (content) {
      content.purchases++
      content.revenue += p.revenue
    }
    if (p.cartId) this.outcome.purchases.set(p.cartId, { cause: p.cause, revenue: p.revenue })
  }
}

function raceSample(
  kind: RaceKind,
  plan: ShopperPlan,
  step: { events: { messageId: string; properties?: Record<string, unknown> }[] },
  payloads: Record<string, unknown>[],
): string {
  switch (kind) {
    case 'duplicateMessageId':
      return String(payloads[0]?.messageId)
    case 'optOutMidJourney':
    case 'testAccount':
      return plan.profile.userId
    default:
      return String(step.events.find((e) => e.properties?.cart_id)?.properties?.cart_id ?? plan.profile.userId)
  }
}

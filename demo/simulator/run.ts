import { EventBatcher, NudgeClient } from './client.js'
import { MailWatcher, listSince, parseReceivedAt } from './engagement.js'
import {
  type FalseTriggerKind,
  FALSE_TRIGGER_KINDS,
  type MailReaction,
  RACE_KINDS,
  type RaceKind,
  type ReceivedMail,
  type ShopperPlan,
  type ShopperState,
  type SimulationPlan,
  defaultRunId,
  eventLabel,
  expectedArms,
  planSimulation,
  reactToMail,
} from './model.js'
import { ProgressBar, type ProgressOptions, type ProgressSnapshot } from './progress.js'
import { type Scenario, parseScenario, simMinutesToMs } from './scenario.js'

/**
 * Runs a scenario against a running Nudge through its public APIs only: every shopper's plan is
 * played in (compressed) real time through `/v1/batch`, each shopper watches their capture
 * mailbox and reacts to what Nudge sent, and the result is a summary — counts per event type,
 * races injected, false triggers observed, and the ground truth per arm to compare with what
 * Nudge's own analysis reports.
 */

export interface RunOptions {
  /** Nudge's base URL, e.g. http://127.0.0.1:3000 */
  url: string
  /** A source's write key (HTTP Basic user of /v1/batch). */
  writeKey: string
  /** The admin key — used only to read the capture mailbox. */
  adminKey: string
  /** A scenario (see scenario.ts); missing knobs take their defaults. */
  scenario?: unknown
  /** A progress bar on stderr (default: off). */
  progress?: boolean | ProgressOptions
  /** Stops the run early; the summary says `aborted: true` and counts what happened. */
  signal?: AbortSignal
  /** For tests: a fetch to use instead of the global one. */
  fetch?: typeof fetch
}

export interface ArmSummary {
  name: string
  /** Configured: percentage points over the base conversion (0 for `none`). */
  lift: number
  /** Configured: base + lift — what the arm's clean abandoned carts should convert at. */
  expectedConversion: number
  /** Derived: the purchase-after-click probability that realizes the lift. */
  purchaseGivenClick: number
  /** Clean abandoned carts whose first reminder fell in this arm (`none`: no reminder arrived). */
  carts: number
  converted: number
  conversionRate: number | null
  /** Normal-approximation 95 % interval of the realized rate. */
  ci95: [number, number] | null
  byCause: { organic: number; reminder: number }
  revenue: number
  revenuePerCart: number | null
  /** Mean and 90th percentile of simulated minutes from the cart to its reminder (Nudge's latency shows here). */
  meanDelayMinutes: number | null
  p90DelayMinutes: number | null
}

export interface ContentSummary {
  name: string
  revenueMultiplier: number
  recipients: number
  opened: number
  clicked: number
  purchases: number
  revenue: number
  revenuePerRecipient: number | null
}

export interface SimulationSummary {
  runId: string
  seed: number
  url: string
  startedAt: string
  finishedAt: string
  durationMs: number
  aborted: boolean
  timeScale: { minutesPerSecond: number; simulatedMinutes: number }
  shoppers: { total: number; done: number; test: number; withCart: number; abandoned: number; userIdPrefix: string }
  events: { sent: number; unique: number; resent: number; stale: number; skipped: number; byType: Record<string, number> }
  requests: { batches: number; http: number; retries: number; failures: number }
  mail: {
    seen: number
    reminders: number
    other: number
    testFlagged: number
    opened: number
    clicked: number
    unsubscribed: number
    purchases: { reminder: number; organic: number; mail: number }
    /** Mail that arrived after its shopper stopped watching (counted by the final sweep; not answered). */
    missedAfterWatch: number
    pollErrors: number
  }
  /** Races and mistakes injected (sent), per kind. */
  races: Record<RaceKind, number>
  /** What the shoppers saw that should not have happened, per kind. */
  falseTriggers: Record<FalseTriggerKind, number>
  groundTruth: {
    baseConversion: number
    arms: ArmSummary[]
    /** Abandoned carts left out of the arms (their races decide them), and test accounts'. */
    excluded: { purchaseBeforeReminder: number; optOutMidJourney: number; testAccount: number }
    content: ContentSummary[]
  }
  /** Up to 20 ids per race kind (carts, users or message ids) to look up in Nudge. */
  samples: Record<RaceKind, string[]>
  /** Up to 20 per false trigger kind: `<userId> <messageId>[ <cartId>]` of the mail. */
  falseTriggerSamples: Record<FalseTriggerKind, string[]>
  errors: { count: number; first: string[] }
  /** What makes this run's figures less trustworthy (late reminders blurring the arms, missed mail). */
  warnings: string[]
  scenario: Scenario
}

const SAMPLE_CAP = 20
const DAY_MS = 86_400_000
const round = (n: number, d = 4) => Math.round(n * 10 ** d) / 10 ** d

interface ShopperOutcome {
  plan: ShopperPlan
  state: ShopperState
  firstReminder: Map<string, { arm: string; delayMinutes: number | undefined }>
  purchases: Map<string, { cause: string; revenue: number }>
  /** Message ids of the mail this shopper saw. */
  mails: Set<string>
}

export async function runSimulation(opts: RunOptions): Promise<SimulationSummary> {
  const s = parseScenario(opts.scenario ?? {})
  const startedAt = Date.now()
  const runId = s.runId ?? defaultRunId(s.seed, startedAt)
  const plan = planSimulation(s, runId)
  const client = new NudgeClient({
    url: opts.url,
    writeKey: opts.writeKey,
    adminKey: opts.adminKey,
    userAgent: s.engagement.userAgent,
    maxRetries: s.http.maxRetries,
    timeoutMs: s.http.timeoutMs,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
  const batcher = new EventBatcher(client, { maxEvents: s.http.batchMaxEvents, lingerMs: s.http.lingerMs })
  const watcher = new MailWatcher(client, {
    mode: s.mailbox.mode,
    pollMs: s.mailbox.pollMs,
    concurrency: s.mailbox.concurrency,
    since: startedAt - 1000,
    ...(s.effects.variantPattern ? { variantPattern: s.effects.variantPattern } : {}),
  })
  const tally = new Tally(s)
  let done = 0

  const snapshot = (): ProgressSnapshot => ({
    shoppers: s.shoppers,
    shoppersDone: done,
    eventsSent: tally.eventsSent,
    mailsSeen: watcher.mailsSeen,
    racesInjected: Object.values(tally.races).reduce((a, b) => a + b, 0),
    errors: tally.errorCount,
    elapsedMs: Date.now() - startedAt,
  })
  const bar = opts.progress ? new ProgressBar(snapshot, typeof opts.progress === 'object' ? opts.progress : {}) : undefined
  bar?.start()

  const t0 = Date.now()
  const sleepUntil = (at: number) => sleep(at - Date.now(), opts.signal)
  const outcomes = await Promise.all(
    plan.shoppers.map((shopper) =>
      runShopper({ s, runId, plan, shopper, t0, client, batcher, watcher, tally, sleepUntil }).finally(() => {
        done++
      }),
    ),
  )
  watcher.stop()
  if (s.mailbox.finalSweep && !opts.signal?.aborted) await sweep(s, client, outcomes, tally, startedAt - 1000)
  bar?.stop()
  const finishedAt = Date.now()
  return summarize(s, opts.url, runId, plan, outcomes, tally, {
    startedAt,
    finishedAt,
    t0,
    aborted: !!opts.signal?.aborted,
    done,
    client,
    batcher,
    watcher,
  })
}

/** One more read of every mailbox: mail that came after its shopper stopped watching. */
async function sweep(s: Scenario, client: NudgeClient, outcomes: ShopperOutcome[], tally: Tally, since: number): Promise<void> {
  if (s.mailbox.mode === 'all') {
    const byEmail = new Map(outcomes.map((o) => [o.plan.profile.email, o]))
    try {
      for (const m of await listSince(client, since))
        for (const to of m.to) {
          const o = byEmail.get(to)
          if (o && !o.mails.has(m.messageId)) tally.missedAfterWatch++
        }
    } catch (err) {
      tally.error(err)
    }
    return
  }
  let next = 0
  const worker = async () => {
    while (next < outcomes.length) {
      const o = outcomes[next++]!
      try {
        for (const m of await client.listMessages({ to: o.plan.profile.email }))
          if (!o.mails.has(m.messageId) && parseReceivedAt(m.receivedAt) >= since) tally.missedAfterWatch++
      } catch (err) {
        tally.error(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(s.mailbox.concurrency, outcomes.length) }, worker))
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'))
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t)
      reject(signal!.reason ?? new Error('aborted'))
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

class Tally {
  eventsSent = 0
  readonly unique = new Set<string>()
  readonly byType: Record<string, number> = {}
  resent = 0
  stale = 0
  skipped = 0
  readonly races = Object.fromEntries(RACE_KINDS.map((k) => [k, 0])) as Record<RaceKind, number>
  readonly samples = Object.fromEntries(RACE_KINDS.map((k) => [k, [] as string[]])) as Record<RaceKind, string[]>
  readonly falseTriggers = Object.fromEntries(FALSE_TRIGGER_KINDS.map((k) => [k, 0])) as Record<FalseTriggerKind, number>
  readonly falseTriggerSamples = Object.fromEntries(FALSE_TRIGGER_KINDS.map((k) => [k, [] as string[]])) as Record<
    FalseTriggerKind,
    string[]
  >
  readonly mail = {
    seen: 0,
    reminders: 0,
    other: 0,
    testFlagged: 0,
    opened: 0,
    clicked: 0,
    unsubscribed: 0,
    purchases: { reminder: 0, organic: 0, mail: 0 },
  }
  readonly content = new Map<string, { recipients: number; opened: number; clicked: number; purchases: number; revenue: number }>()
  missedAfterWatch = 0
  errorCount = 0
  readonly errors: string[] = []

  constructor(s: Scenario) {
    for (const v of [...s.effects.contentVariants.map((c) => c.name), 'default'])
      this.content.set(v, { recipients: 0, opened: 0, clicked: 0, purchases: 0, revenue: 0 })
  }

  sent(events: { messageId: string; type: string; event?: string }[], opts: { resend?: boolean; stale?: boolean }): void {
    for (const e of events) {
      this.eventsSent++
      if (opts.resend) this.resent++
      if (opts.stale) this.stale++
      if (this.unique.has(e.messageId)) continue
      this.unique.add(e.messageId)
      const label = eventLabel(e as { type: 'track'; event?: string })
      this.byType[label] = (this.byType[label] ?? 0) + 1
    }
  }

  race(kind: RaceKind, sample: string): void {
    this.races[kind]++
    if (this.samples[kind].length < SAMPLE_CAP) this.samples[kind].push(sample)
  }

  error(err: unknown): void {
    if (isAbort(err)) return
    this.errorCount++
    if (this.errors.length < SAMPLE_CAP) this.errors.push(err instanceof Error ? err.message : String(err))
  }
}

const isAbort = (err: unknown) => (err as { name?: unknown } | undefined)?.name === 'AbortError'

interface ShopperContext {
  s: Scenario
  runId: string
  plan: SimulationPlan
  shopper: ShopperPlan
  t0: number
  client: NudgeClient
  batcher: EventBatcher
  watcher: MailWatcher
  tally: Tally
  sleepUntil: (at: number) => Promise<void>
}

async function runShopper(ctx: ShopperContext): Promise<ShopperOutcome> {
  const { s, runId, shopper: plan, tally } = ctx
  const state: ShopperState = { carts: new Map() }
  const outcome: ShopperOutcome = { plan, state, firstReminder: new Map(), purchases: new Map(), mails: new Set() }
  const sent = new Map<string, Record<string, unknown>>()
  const reactions: Promise<void>[] = []
  const start = ctx.t0 + simMinutesToMs(s, plan.arrival)
  let watching = false
  let ordinal = 0
  const cart = (id: string) => {
    let c = state.carts.get(id)
    if (!c) state.carts.set(id, (c = { reminders: [] }))
    return c
  }
  const mayBuy = (cartId: string) => cart(cartId).purchasedAt === undefined
  /** A purchase counts from the moment the shopper makes it (its timestamp), and is stored when acknowledged. */
  const buy = async (cartId: string | undefined, send: (at: number) => Promise<number>) => {
    const at = Date.now()
    const c = cartId ? cart(cartId) : undefined
    if (c) c.purchasedAt = at
    try {
      const ack = await send(at)
      if (c) c.purchaseStoredAt = ack
    } catch (err) {
      if (c) delete c.purchasedAt
      throw err
    }
  }

  const onMail = (mail: ReceivedMail) => {
    const r = reactToMail(s, runId, plan, state, mail, ordinal++)
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
      const c = cart(r.cartId)
      if (!c.reminders.length && r.arm !== undefined) outcome.firstReminder.set(r.cartId, { arm: r.arm, delayMinutes: r.delayMinutes })
      c.reminders.push(mail.messageId)
    }
    const content = plan.profile.test ? undefined : tally.content.get(r.contentVariant)
    if (content) content.recipients++
    reactions.push(react(r, mail, content).catch((err) => tally.error(err)))
  }

  const react = async (
    r: MailReaction,
    mail: ReceivedMail,
    content: { opened: number; clicked: number; purchases: number; revenue: number } | undefined,
  ) => {
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
      state.unsubscribedAt ??= Date.now()
      tally.mail.unsubscribed++
    }
    const p = r.purchase
    if (p) {
      await ctx.sleepUntil(mail.receivedAt + p.afterMs)
      if (p.cartId && !mayBuy(p.cartId)) return
      await buy(p.cartId, async (at) => {
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
      if (p.cartId) outcome.purchases.set(p.cartId, { cause: p.cause, revenue: p.revenue })
    }
  }

  try {
    await ctx.sleepUntil(start)
    if (plan.profile.test) tally.race('testAccount', plan.profile.userId)
    for (const step of plan.steps) {
      let due = start + simMinutesToMs(s, step.at)
      if (step.anchor) {
        const added = state.carts.get(step.anchor.cartId)?.addedAt
        if (added !== undefined) due = added + simMinutesToMs(s, step.anchor.minutes) - step.anchor.leadMs
      }
      await ctx.sleepUntil(due)
      if (step.requiresOpenCart && !mayBuy(step.requiresOpenCart)) {
        tally.skipped += step.events.length
        continue
      }
      const now = Date.now()
      let payloads: Record<string, unknown>[]
      if (step.resend) {
        payloads = step.events.flatMap((e) => (sent.has(e.messageId) ? [sent.get(e.messageId)!] : []))
        if (!payloads.length) continue
      } else {
        const at = new Date(now - (step.staleDays ?? 0) * DAY_MS).toISOString()
        payloads = step.events.map((e) => ({ ...e, timestamp: at }))
      }
      const m = step.marks
      let ack = 0
      const send = async () => (ack = await ctx.batcher.send(payloads, { immediate: !!step.immediate }))
      if (m?.optedOut) state.optedOutAt ??= now
      if (m?.cartPurchased) await buy(m.cartPurchased, send)
      else await send()
      for (const p of payloads) sent.set(p.messageId as string, p)
      tally.sent(payloads as { messageId: string; type: string }[], { resend: !!step.resend, stale: step.race === 'staleEvent' })
      if (step.race) tally.race(step.race, raceSample(step.race, plan, step, payloads))
      if (m?.cartAdded) cart(m.cartAdded).addedAt ??= ack
      if (m?.cartPurchased) {
        const c = plan.carts.find((x) => x.cartId === m.cartPurchased)!
        outcome.purchases.set(m.cartPurchased, {
          cause: step.label === 'race' ? `race:${step.race}` : step.label === 'organic-purchase' ? 'organic' : step.label,
          revenue: c.subtotal,
        })
      }
      if (m?.optedOut) state.optOutStoredAt ??= ack
      if (!watching && payloads.some((p) => p.type === 'identify')) {
        watching = true
        ctx.watcher.watch(plan.profile.email, onMail)
      }
    }
    if (watching) {
      await ctx.sleepUntil(start + simMinutesToMs(s, plan.watchUntil))
      await ctx.watcher.finish(plan.profile.email)
    }
  } catch (err) {
    tally.error(err)
    if (watching) await ctx.watcher.finish(plan.profile.email).catch(() => {})
  }
  await Promise.all(reactions)
  return outcome
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

function summarize(
  s: Scenario,
  url: string,
  runId: string,
  plan: SimulationPlan,
  outcomes: ShopperOutcome[],
  tally: Tally,
  run: {
    startedAt: number
    finishedAt: number
    t0: number
    aborted: boolean
    done: number
    client: NudgeClient
    batcher: EventBatcher
    watcher: MailWatcher
  },
): SimulationSummary {
  const truth = expectedArms(s)
  const arms = new Map(
    truth.map((a) => [a.name, { ...a, carts: 0, converted: 0, organic: 0, reminder: 0, revenue: 0, delays: [] as number[] }]),
  )
  const excluded = { purchaseBeforeReminder: 0, optOutMidJourney: 0, testAccount: 0 }
  let withCart = 0
  let abandoned = 0
  for (const o of outcomes) {
    if (o.plan.carts.some((c) => c.kind !== 'stale')) withCart++
    for (const c of o.plan.carts) {
      if (c.kind !== 'abandoned') continue
      abandoned++
      if (o.plan.profile.test) {
        excluded.testAccount++
        continue
      }
      const race = c.races.find(
        (r): r is 'purchaseBeforeReminder' | 'optOutMidJourney' => r === 'purchaseBeforeReminder' || r === 'optOutMidJourney',
      )
      if (race) {
        excluded[race]++
        continue
      }
      const first = o.firstReminder.get(c.cartId)
      const a = arms.get(first?.arm ?? 'none')!
      a.carts++
      if (first?.delayMinutes !== undefined) a.delays.push(first.delayMinutes)
      const bought = o.purchases.get(c.cartId)
      if (bought) {
        a.converted++
        a.revenue += bought.revenue
        if (bought.cause === 'reminder') a.reminder++
        else a.organic++
      }
    }
  }
  const armSummaries: ArmSummary[] = [...arms.values()].map((a) => {
    const rate = a.carts ? a.converted / a.carts : null
    const half = rate === null ? 0 : 1.96 * Math.sqrt((rate * (1 - rate)) / a.carts)
    return {
      name: a.name,
      lift: a.lift,
      expectedConversion: round(a.expectedConversion),
      purchaseGivenClick: round(a.purchaseGivenClick),
      carts: a.carts,
      converted: a.converted,
      conversionRate: rate === null ? null : round(rate),
      ci95: rate === null ? null : [round(Math.max(0, rate - half)), round(Math.min(1, rate + half))],
      byCause: { organic: a.organic, reminder: a.reminder },
      revenue: round(a.revenue, 2),
      revenuePerCart: a.carts ? round(a.revenue / a.carts, 2) : null,
      meanDelayMinutes: a.delays.length ? round(a.delays.reduce((x, y) => x + y, 0) / a.delays.length, 2) : null,
      p90DelayMinutes: a.delays.length
        ? round(a.delays.sort((x, y) => x - y)[Math.min(a.delays.length - 1, Math.floor(0.9 * a.delays.length))]!, 2)
        : null,
    }
  })
  const multipliers = new Map(s.effects.contentVariants.map((v) => [v.name, v.revenueMultiplier]))
  const content: ContentSummary[] = [...tally.content.entries()].map(([name, c]) => ({
    name,
    revenueMultiplier: multipliers.get(name) ?? 1,
    recipients: c.recipients,
    opened: c.opened,
    clicked: c.clicked,
    purchases: c.purchases,
    revenue: round(c.revenue, 2),
    revenuePerRecipient: c.recipients ? round(c.revenue / c.recipients, 2) : null,
  }))
  return {
    runId,
    seed: s.seed,
    url,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: new Date(run.finishedAt).toISOString(),
    durationMs: run.finishedAt - run.startedAt,
    aborted: run.aborted,
    timeScale: {
      minutesPerSecond: s.timeScale.minutesPerSecond,
      simulatedMinutes: round(((run.finishedAt - run.t0) / 1000) * s.timeScale.minutesPerSecond, 1),
    },
    shoppers: {
      total: plan.shoppers.length,
      done: run.done,
      test: plan.shoppers.filter((p) => p.profile.test).length,
      withCart,
      abandoned,
      userIdPrefix: `${s.identity.userIdPrefix}-${runId}-`,
    },
    events: {
      sent: tally.eventsSent,
      unique: tally.unique.size,
      resent: tally.resent,
      stale: tally.stale,
      skipped: tally.skipped,
      byType: sortKeys(tally.byType),
    },
    requests: {
      batches: run.batcher.batches,
      http: run.client.stats.requests,
      retries: run.client.stats.retries,
      failures: run.client.stats.failures,
    },
    mail: {
      ...tally.mail,
      purchases: { ...tally.mail.purchases },
      missedAfterWatch: tally.missedAfterWatch,
      pollErrors: run.watcher.errors,
    },
    races: { ...tally.races },
    falseTriggers: { ...tally.falseTriggers },
    groundTruth: { baseConversion: s.effects.baseConversion, arms: armSummaries, excluded, content },
    samples: tally.samples,
    falseTriggerSamples: tally.falseTriggerSamples,
    warnings: warnings(s, armSummaries, tally),
    errors: {
      count: tally.errorCount,
      first: [...tally.errors, ...(run.watcher.lastError ? [`last mailbox poll error: ${run.watcher.lastError}`] : [])].slice(
        0,
        SAMPLE_CAP + 1,
      ),
    },
    scenario: s,
  }
}

function warnings(s: Scenario, arms: ArmSummary[], tally: Tally): string[] {
  const out: string[] = []
  const nominal = s.effects.reminderArms
  nominal.forEach((a, i) => {
    const seen = arms.find((x) => x.name === a.name)
    if (!seen?.meanDelayMinutes) return
    const gap =
      nominal.length > 1
        ? i + 1 < nominal.length
          ? nominal[i + 1]!.delayMinutes - a.delayMinutes
          : a.delayMinutes - nominal[i - 1]!.delayMinutes
        : Infinity
    const late = seen.meanDelayMinutes - a.delayMinutes
    if (late > gap / 2)
      out.push(
        `Reminders of arm ${a.name} arrived ${late.toFixed(0)} simulated minutes (${(late / s.timeScale.minutesPerSecond).toFixed(1)} s) after its ${a.delayMinutes} min on average — Nudge's latency is blurring the arms (arms are read from arrival times); lower timeScale.minutesPerSecond or set effects.variantPattern`,
      )
  })
  if (tally.missedAfterWatch > 0)
    out.push(
      `${tally.missedAfterWatch} mails arrived after their shopper stopped watching and were not answered; raise engagement.watchMinutes or lower timeScale.minutesPerSecond`,
    )
  return out
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
}

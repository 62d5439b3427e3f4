import type { EventBatcher, NudgeClient } from './client.js'
import type { MailWatcher } from './engagement.js'
import { type SimulationPlan, expectedArms } from './model.js'
import type { Scenario } from './scenario.js'
import type { ArmSummary, ContentSummary, SimulationSummary } from './summaryTypes.js'
import { SAMPLE_CAP, type ShopperOutcome, type Tally } from './tally.js'

const round = (n: number, d = 4) => Math.round(n * 10 ** d) / 10 ** d

/** The run's clock and machinery, for the summary's timings and request counts. */
export interface RunFacts {
  startedAt: number
  finishedAt: number
  t0: number
  aborted: boolean
  done: number
  client: NudgeClient
  batcher: EventBatcher
  watcher: MailWatcher
}

export function summarize(
  s: Scenario,
  url: string,
  runId: string,
  plan: SimulationPlan,
  outcomes: ShopperOutcome[],
  tally: Tally,
  run: RunFacts,
): SimulationSummary {
  const carts = cartTruth(s, outcomes)
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
      withCart: carts.withCart,
      abandoned: carts.abandoned,
      userIdPrefix: `${s.identity.userIdPrefix}-${runId}-`,
    },
    ...traffic(tally, run),
    races: { ...tally.races },
    falseTriggers: { ...tally.falseTriggers },
    groundTruth: {
      baseConversion: s.effects.baseConversion,
      arms: carts.arms,
      excluded: carts.excluded,
      content: contentSummaries(s, tally),
    },
    samples: tally.samples,
    falseTriggerSamples: tally.falseTriggerSamples,
    warnings: warnings(s, carts.arms, tally),
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

/** Events, requests and mail as counted. */
function traffic(tally: Tally, run: RunFacts): Pick<SimulationSummary, 'events' | 'requests' | 'mail'> {
  return {
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
  }
}

/** Each clean abandoned cart in the arm of its first reminder (`none`: none came); the raced and test carts left out. */
function cartTruth(s: Scenario, outcomes: ShopperOutcome[]) {
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
  return { arms: [...arms.values()].map(armSummary), excluded, withCart, abandoned }
}

type ArmCount = ReturnType<typeof expectedArms>[number] & {
  carts: number
  converted: number
  organic: number
  reminder: number
  revenue: number
  delays: number[]
}

function armSummary(a: ArmCount): ArmSummary {
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
}

function contentSummaries(s: Scenario, tally: Tally): ContentSummary[] {
  const multipliers = new Map(s.effects.contentVariants.map((v) => [v.name, v.revenueMultiplier]))
  return [...tally.content.entries()].map(([name, c]) => ({
    name,
    revenueMultiplier: multipliers.get(name) ?? 1,
    recipients: c.recipients,
    opened: c.opened,
    clicked: c.clicked,
    purchases: c.purchases,
    revenue: round(c.revenue, 2),
    revenuePerRecipient: c.recipients ? round(c.revenue / c.recipients, 2) : null,
  }))
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

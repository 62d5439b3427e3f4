import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { reminderTimingExperiment } from '../../experiments/examples.js'
import { cartAbandonment } from '../../journeys/examples.js'
import { eventLabel, planSimulation } from '../../demo/simulator/model.js'
import { runSimulation } from '../../demo/simulator/run.js'
import type { ScenarioInput } from '../../demo/simulator/scenario.js'
import { runId } from '../../workflows/client/journeyRuns.js'
import { ADMIN_KEY, WRITE_KEY, admin, useTestNudge } from '../helpers/harness.js'
import { activeJourney, waitFor } from '../helpers/journeys.js'

/**
 * The shopper simulator against a real Nudge (Temporal dev server, chdb, capture mailbox): a short
 * cart-abandonment journey with a 15 min / 1 h / holdout timing experiment compressed to 750 ms /
 * 3 s (20 simulated minutes per second), 30 shoppers for about fifteen seconds. Everything the
 * simulator does goes through the public APIs; this test reads Nudge's side to check it.
 */
const TEST_IDS = ['simqa-1', 'simqa-2']
const FLAG = 'sim.reminder_delay'
const EXPERIMENT = 'sim-reminder-timing'
const JOURNEY = 'sim-cart'

const scenario: ScenarioInput = {
  seed: 11,
  shoppers: 30,
  timeScale: { minutesPerSecond: 20 },
  arrivalMinutes: 60,
  behavior: {
    sessions: { min: 1, max: 1 },
    pageViews: { min: 1, max: 2 },
    productViews: { min: 1, max: 2 },
    thinkMinutes: { min: 0.1, max: 0.5 },
    cartRate: 0.9,
    checkoutInSession: 0.15,
    checkoutMinutes: { min: 1, max: 3 },
    supportTicketRate: 0.1,
  },
  effects: {
    organicPurchaseMinutes: { min: 40, max: 60 },
    reminderArms: [
      { name: 'm15', delayMinutes: 15, lift: 0.08 },
      { name: 'h1', delayMinutes: 60, lift: 0.05 },
    ],
  },
  engagement: {
    open: 0.9,
    clickGivenOpen: 0.8,
    openDelayMinutes: { min: 1, max: 3 },
    clickDelayMinutes: { min: 1, max: 2 },
    purchaseDelayMinutes: { min: 1, max: 2 },
    humanFloorMs: { open: 0, click: 0 },
    watchMinutes: 150,
  },
  races: {
    purchaseBeforeReminder: { rate: 0.15, dueMinutes: 15, leadMs: 5 },
    duplicateMessageId: { rate: 0.05 },
    duplicateCart: { rate: 0.25, afterMinutes: { min: 0.05, max: 0.5 } },
    optOutMidJourney: { rate: 0.15 },
    staleEvent: { rate: 0.1 },
    testAccount: { rate: 0.07, ids: TEST_IDS },
  },
  mailbox: { pollMs: 200 },
}

describe('shopper simulator: a seeded run against a running Nudge, through its public APIs only', () => {
  const fx = useTestNudge({
    role: 'all',
    env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'warn', TEST_USER_IDS: TEST_IDS.join(',') },
  })
  const base = () => fx.nudge.url

  it('shoppers browse, abandon carts and answer the reminders; duplicates make no second reminder; the summary counts what Nudge stored', async () => {
    const experiment = {
      ...reminderTimingExperiment,
      key: EXPERIMENT,
      variants: [
        { key: 'm15', weight: 0.4, payload: { flags: { [FLAG]: '750ms' } } },
        { key: 'h1', weight: 0.4, payload: { flags: { [FLAG]: '3000ms' } } },
        { key: 'holdout', weight: 0.2, holdout: true },
      ],
    }
    expect((await admin(`${base()}/api/experiments`, 'POST', experiment)).status).toBe(201)
    expect((await admin(`${base()}/api/experiments/${EXPERIMENT}/start`, 'POST')).status).toBe(200)
    expect(
      (
        await admin(`${base()}/api/flags`, 'POST', {
          key: FLAG,
          type: 'duration',
          defaultValue: '3000ms',
          rules: [{ id: 'timing', experiment: EXPERIMENT }],
        })
      ).status,
    ).toBe(201)
    await activeJourney(base(), {
      ...cartAbandonment,
      id: JOURNEY,
      steps: [
        { id: 'timing', type: 'experiment', experiment: EXPERIMENT },
        { id: 'wait', type: 'delay', flag: { key: FLAG, default: '3000ms' } },
        { id: 'reminder', type: 'send', template: 'cart-reminder' },
      ],
    })

    const summary = await runSimulation({ url: base(), writeKey: WRITE_KEY, adminKey: ADMIN_KEY, scenario })
    expect(summary.errors).toEqual({ count: 0, first: [] })
    expect(summary).toMatchObject({ aborted: false, seed: 11, shoppers: { total: 30, done: 30, test: 2 } })

    // Who the shoppers were (the plan is a pure function of the scenario and the run id).
    const plan = planSimulation(summary.scenario, summary.runId)
    const users = plan.shoppers.map((s) => s.profile.userId)
    const ours = (id: string) => id.startsWith(`${summary.runId}-`)

    // Every event arrived through the API and is the user's: their histories hold exactly what the summary counts.
    const seen = new Map<string, string>()
    for (const userId of users) {
      const res = await admin(`${base()}/api/users/${encodeURIComponent(userId)}?recent=1000`)
      expect(res.status, userId).toBe(200)
      expect(res.json.traits).toMatchObject({ first_name: expect.any(String), locale: expect.any(String), timezone: expect.any(String) })
      for (const e of res.json.recentEvents as { messageId: string; type: 'track'; event: string }[])
        if (ours(e.messageId)) seen.set(e.messageId, eventLabel(e))
    }
    expect(seen.size).toBe(summary.events.unique)
    const byType: Record<string, number> = {}
    for (const label of seen.values()) byType[label] = (byType[label] ?? 0) + 1
    expect(byType).toEqual(summary.events.byType)
    expect(Object.keys(byType)).toEqual(expect.arrayContaining(['page', 'identify', 'Product Viewed', 'Product Added', 'Order Completed']))
    // The store agrees (retries with the same messageId were stored once).
    const [stored] = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      'SELECT count() AS n FROM events WHERE startsWith(message_id, {p:String})',
      { p: `${summary.runId}-` },
    )
    expect(Number(stored!.n)).toBe(summary.events.unique)
    expect(summary.events.sent).toBe(summary.events.unique + summary.events.resent)

    // Every race was injected; test accounts' mail was marked.
    for (const kind of [
      'purchaseBeforeReminder',
      'duplicateMessageId',
      'duplicateCart',
      'optOutMidJourney',
      'staleEvent',
      'testAccount',
    ] as const)
      expect(summary.races[kind], kind).toBeGreaterThan(0)
    expect(summary.races.testAccount).toBe(2)
    expect(summary.falseTriggers.testMailUnflagged).toBe(0)

    // Reminders arrived, were opened and clicked through the tracking endpoints: Nudge recorded exactly those.
    expect(summary.mail.reminders).toBeGreaterThan(0)
    expect(summary.mail.opened).toBeGreaterThan(0)
    expect(summary.mail.clicked).toBeGreaterThan(0)
    const engagement = await waitFor(
      async () => {
        const rows = await selectRows<{ event: string; n: string }>(
          fx.nudge.store.client,
          `SELECT event, count() AS n FROM message_events WHERE journey_id = {j:String} AND user_key IN {keys:Array(String)} GROUP BY event`,
          { j: JOURNEY, keys: users },
        )
        const n = Object.fromEntries(rows.map((r) => [r.event, Number(r.n)]))
        return (
          (n.open ?? 0) === summary.mail.opened &&
          (n.click ?? 0) === summary.mail.clicked &&
          (n.unsubscribe ?? 0) === summary.mail.unsubscribed &&
          n
        )
      },
      10_000,
      'opens and clicks in message_events',
    )
    // Every reminder Nudge delivered was seen — or arrived after its shopper stopped watching, and was counted as missed.
    expect(engagement.delivered).toBe(summary.mail.seen + summary.mail.missedAfterWatch)

    // Injected duplicates (same messageId resent, the same cart added twice) made no second reminder.
    // One that arrives while the cart's run is open is a signal the run ignores (one execution);
    // one that arrives after the reminder went out enters again (reentry "always") and the check
    // before the send skips it as a duplicate. (A holdout run ends at once, so that cart's next
    // Product Added enters again too — holdout carts are left out.)
    const executions = new Map<string, number>()
    for await (const w of fx.nudge.temporal.workflow.list({ query: `JourneyId = '${JOURNEY}'` }))
      executions.set(w.workflowId, (executions.get(w.workflowId) ?? 0) + 1)
    const reminded = plan.shoppers.filter(
      (sh) => !sh.profile.test && fx.nudge.experiments.peek(EXPERIMENT, sh.profile.userId).variant !== 'holdout',
    )
    const injected = reminded.flatMap((sh) =>
      sh.steps
        .filter((st) => st.race === 'duplicateCart' || (st.race === 'duplicateMessageId' && st.events[0]!.event === 'Product Added'))
        .map((st) => runId(JOURNEY, sh.profile.userId, String(st.events[0]!.properties!.cart_id))),
    )
    expect(injected.length).toBeGreaterThan(0)
    for (const id of injected) {
      const runs = executions.get(id) ?? 0
      expect(runs, id).toBeGreaterThanOrEqual(1)
      if (runs === 1) continue
      const outcomes = await waitFor(
        async () => {
          const rows = await selectRows<{ outcome: string; reason: string }>(
            fx.nudge.store.client,
            "SELECT outcome, reason FROM journey_steps WHERE workflow_id = {w:String} AND step_type = 'send'",
            { w: id },
          )
          return rows.length >= runs && rows
        },
        10_000,
        `the send steps of ${id}`,
      )
      if (outcomes.some((o) => o.outcome === 'sent'))
        expect(
          outcomes.filter((o) => o.outcome !== 'sent').map((o) => o.reason),
          id,
        ).toContain('duplicate')
    }
    // …and sent no second reminder for those carts.
    const twice = await selectRows<{ workflow_id: string; n: string }>(
      fx.nudge.store.client,
      "SELECT workflow_id, uniqExact(message_id) AS n FROM send_ledger WHERE journey_id = {j:String} AND status = 'sent' AND workflow_id IN {ids:Array(String)} GROUP BY workflow_id HAVING n > 1",
      { j: JOURNEY, ids: injected },
    )
    expect(twice).toEqual([])

    // The arms were read from when the reminders came: 750 ms = 15 simulated minutes, 3 s = 60.
    const arm = (name: string) => summary.groundTruth.arms.find((a) => a.name === name)!
    expect(summary.groundTruth.arms.map((a) => a.name)).toEqual(['m15', 'h1', 'none'])
    expect(arm('m15').expectedConversion - arm('h1').expectedConversion).toBeCloseTo(0.03, 10)
    const carts = summary.groundTruth.arms.reduce((n, a) => n + a.carts, 0)
    const excluded = summary.groundTruth.excluded
    expect(carts + excluded.purchaseBeforeReminder + excluded.optOutMidJourney + excluded.testAccount).toBe(summary.shoppers.abandoned)
    // Nudge is late, never early, so each reminder falls in its own arm or a later one: the sooner arm arrives sooner.
    if (arm('m15').carts && arm('h1').carts) expect(arm('m15').meanDelayMinutes!).toBeLessThan(arm('h1').meanDelayMinutes!)
  }, 60_000)
})

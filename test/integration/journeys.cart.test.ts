import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { REMINDER_DELAY_FLAG, reminderTimingExperiment } from '../../experiments/examples.js'
import { cartAbandonment } from '../../journeys/examples.js'
import { runId } from '../../workflows/client/journeyRuns.js'
import { admin, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, messagesTo, rawMessage, sleep, track, waitFor } from '../helpers/journeys.js'

/**
 * The cart-abandonment journey on the real Temporal dev server and the real engine, with short
 * flagged delays: the reminder, and the ways peers get it wrong.
 */
describe('cart abandonment: trigger semantics, exits, exactly-once', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'warn' } })
  const base = () => fx.nudge.url
  // Every test's journey listens to its own `lane` only: the journeys share one instance.
  const product = (cart: string, lane = 'seed') => ({
    cart_id: cart,
    lane,
    product_id: 'p-1',
    name: 'Trail Runner',
    price: 89,
    image_url: 'https://cdn.example/p-1.jpg',
  })

  /** The seed's journey without the timing experiment, with the delay flag at `delay`. */
  async function cartJourney(id: string, delay: string, extraSteps: unknown[] = []) {
    const flag = `${id}.delay`
    await admin(`${base()}/api/flags`, 'POST', { key: flag, type: 'duration', defaultValue: delay })
    await activeJourney(base(), {
      ...cartAbandonment,
      id,
      trigger: { type: 'event', event: 'Product Added', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [
        { id: 'wait', type: 'delay', flag: { key: flag, default: delay } },
        { id: 'reminder', type: 'send', template: 'cart-reminder' },
        ...extraSteps,
      ],
    })
  }

  async function shopper(prefix = 'shopper') {
    const userId = uid(prefix)
    const email = `${userId}@example.test`
    await identify(base(), userId, { email, first_name: 'Ada' })
    return { userId, email }
  }

  it('end to end: the seed journey with its timing experiment — a reminder with the product image and a code, the arm recorded', async () => {
    await admin(`${base()}/api/flags`, 'POST', {
      key: REMINDER_DELAY_FLAG,
      type: 'duration',
      defaultValue: '400ms',
      rules: [{ id: 'timing', experiment: reminderTimingExperiment.key }],
    })
    const exp = {
      ...reminderTimingExperiment,
      variants: [
        { key: 'fast', weight: 0.5, payload: { flags: { [REMINDER_DELAY_FLAG]: '200ms' } } },
        { key: 'slow', weight: 0.5, payload: { flags: { [REMINDER_DELAY_FLAG]: '600ms' } } },
      ],
    }
    expect((await admin(`${base()}/api/experiments`, 'POST', exp)).status).toBe(201)
    await admin(`${base()}/api/experiments/${exp.key}/start`, 'POST')
    await activeJourney(base(), {
      ...cartAbandonment,
      trigger: { ...cartAbandonment.trigger, where: [{ path: 'lane', op: 'eq', value: 'seed' }] },
    })

    const { userId, email } = await shopper()
    const cart = uid('cart')
    await track(base(), userId, 'Product Added', product(cart))
    const [message] = await waitFor(
      async () => (await messagesTo(base(), email)).length > 0 && messagesTo(base(), email),
      20_000,
      'the reminder',
    )
    expect(message!.subject).toBe('Ada, your cart is waiting')
    const raw = await rawMessage(base(), message!.messageId)
    expect(raw).toContain('https://cdn.example/p-1.jpg')
    expect(raw).toMatch(/SAVE-[0-9A-F]{8}/)

    const expected = fx.nudge.experiments.assign(exp.key, userId).variant
    const workflowId = runId(cartAbandonment.id, userId, cart)
    const described = await fx.nudge.temporal.workflow.getHandle(workflowId).describe()
    expect(described.searchAttributes).toMatchObject({
      JourneyId: [cartAbandonment.id],
      UserId: [userId],
      ExperimentKey: [exp.key],
      Variant: [expected],
    })
    expect((described.memo?.flags as Record<string, { value: number }>)[REMINDER_DELAY_FLAG]!.value).toBe(expected === 'fast' ? 200 : 600)

    const run = await endedRun(base(), cartAbandonment.id, userId)
    expect(run).toMatchObject({ correlation: cart, outcome: 'completed', test: false })
    const ledger = await selectRows<{ status: string; variant: string }>(
      fx.nudge.store.client,
      'SELECT status, variant FROM send_ledger WHERE message_id = {id:String} ORDER BY at',
      { id: message!.messageId },
    )
    expect(ledger).toEqual([
      { status: 'sending', variant: expected },
      { status: 'sent', variant: expected },
    ])
    const metrics = await (await fetch(`${base()}/metrics`)).text()
    expect(metrics).toMatch(/nudge_journey_sends_total\{journey="cart-abandonment",outcome="sent",test="false"\} 1/)
    expect(metrics).toMatch(/nudge_journey_routing_seconds_count\{kind="start"\} [1-9]/)
  })

  it('a purchase ingested 1 ms before the reminder is due → no reminder; the run ends as converted', async () => {
    await cartJourney('cart-1ms', '1500ms')
    const { userId, email } = await shopper()
    const cart = uid('cart')
    await track(base(), userId, 'Product Added', product(cart, 'cart-1ms'))
    const t0 = Date.now()
    // The run starts a little after the trigger is acknowledged, so its timer ends a little after t0 + 1500.
    await sleep(1499 - (Date.now() - t0))
    await track(base(), userId, 'Order Completed', { cart_id: cart, revenue: 89 })
    const run = await endedRun(base(), 'cart-1ms', userId)
    expect(run!.outcome).toBe('exit:Order Completed')
    await sleep(300)
    expect(await messagesTo(base(), email)).toEqual([])
  })

  it('the pre-send check alone stops a reminder: a conversion in the store, whatever the run has heard', async () => {
    const { userId } = await shopper()
    const cart = uid('cart')
    const added = Date.now() - 60_000
    await track(base(), userId, 'Order Completed', { cart_id: cart, revenue: 89 })
    const request = {
      messageId: uid('msg'),
      workflowId: 'probe',
      journeyId: 'probe',
      journeyVersion: 1,
      stepId: 'reminder',
      userKey: userId,
      correlationKey: 'cart_id',
      correlation: cart,
      trigger: {
        messageId: uid('m'),
        event: 'Product Added',
        type: 'track',
        userKey: userId,
        properties: { cart_id: cart },
        timestamp: added,
        receivedAt: added,
      },
      template: 'cart-reminder',
      topic: 'marketing',
      priority: 50,
      exit: [{ type: 'event' as const, event: 'Order Completed', match: 'correlation' as const }],
      flags: {},
      scheduledAt: Date.now(),
      test: false,
    }
    expect(await fx.nudge.journeys.gate!.check(request)).toEqual({ action: 'skip', reason: 'exit:Order Completed', exit: true })
    // Another cart's run is not stopped by it; one that started after the purchase is not either.
    const otherCart = uid('cart')
    expect(
      await fx.nudge.journeys.gate!.check({ ...request, messageId: uid('msg'), workflowId: `probe:${otherCart}`, correlation: otherCart }),
    ).toMatchObject({ action: 'send' })
    const later = Date.now() + 1000
    expect(
      await fx.nudge.journeys.gate!.check({
        ...request,
        messageId: uid('msg'),
        trigger: { ...request.trigger, timestamp: later, receivedAt: later },
      }),
    ).toMatchObject({ action: 'send' })
  })

  it('the purchase of another cart does not end this cart’s run', async () => {
    await cartJourney('cart-other', '600ms')
    const { userId, email } = await shopper()
    const cart = uid('cart')
    await track(base(), userId, 'Product Added', product(cart, 'cart-other'))
    await track(base(), userId, 'Order Completed', { cart_id: uid('other'), revenue: 5 })
    // The other cart's purchase did not exit the run: it waited out its delay, sent, and completed.
    const run = await endedRun(base(), 'cart-other', userId)
    expect(run).toMatchObject({ correlation: cart, outcome: 'completed' })
    const sent = await messagesTo(base(), email)
    expect(sent).toHaveLength(1)
  })

  it('opt-out mid-journey → no further send', async () => {
    await cartJourney('cart-optout', '300ms', [
      { id: 'again', type: 'delay', duration: '1500ms' },
      { id: 'second', type: 'send', template: 'cart-reminder' },
    ])
    const { userId, email } = await shopper()
    await track(base(), userId, 'Product Added', product(uid('cart'), 'cart-optout'))
    await waitFor(async () => (await messagesTo(base(), email)).length === 1, 15_000, 'the first reminder')
    expect((await admin(`${base()}/api/consent`, 'POST', { userId, topics: { marketing: false } })).status).toBe(200)
    const run = await endedRun(base(), 'cart-optout', userId)
    expect(run!.outcome).toBe('opt_out:marketing')
    await sleep(1800)
    expect(await messagesTo(base(), email)).toHaveLength(1)
  })

  it('a run that hears many events while it waits continues as new, keeping its wait and what it heard', async () => {
    await activeJourney(base(), {
      ...cartAbandonment,
      id: 'cart-long',
      trigger: { type: 'event', event: 'Product Added', where: [{ path: 'lane', op: 'eq', value: 'cart-long' }] },
      steps: [
        {
          id: 'checkout',
          type: 'wait',
          for: { event: 'Checkout Started', match: 'correlation' },
          timeout: '60s',
          onEvent: 'nudge',
          onTimeout: 'stop',
        },
        { id: 'nudge', type: 'send', template: 'cart-reminder', subject: 'Finish your order', next: 'stop' },
        { id: 'stop', type: 'exit' },
      ],
    })
    const { userId, email } = await shopper()
    const cart = uid('cart')
    await track(base(), userId, 'Product Added', product(cart, 'cart-long'))
    // The test server suggests continue-as-new after 200 history events; each of these adds a few.
    for (let i = 0; i < 90; i++) await track(base(), userId, 'Cart Viewed', { cart_id: cart, i })
    const workflowId = runId('cart-long', userId, cart)
    const runs = async () => {
      let n = 0
      for await (const _ of fx.nudge.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++
      return n
    }
    await waitFor(async () => (await runs()) >= 2, 15_000, 'a continued run')
    const state = await admin(`${base()}/api/journeys/cart-long/runs/${userId}/state?correlation=${cart}`)
    expect(state.json).toMatchObject({ step: 'checkout', status: 'waiting' })
    expect(state.json.eventsSeen).toBeGreaterThan(50)
    await track(base(), userId, 'Checkout Started', { cart_id: cart })
    const [m] = await waitFor(async () => (await messagesTo(base(), email)).length === 1 && messagesTo(base(), email), 10_000, 'the nudge')
    expect(m!.subject).toBe('Finish your order')
    expect((await endedRun(base(), 'cart-long', userId)).outcome).toBe('exited')
  })

  it('a duplicate trigger → one run; a follow-up with another name but the same cart id reaches it', async () => {
    await cartJourney('cart-dup', '1500ms')
    const { userId, email } = await shopper()
    const cart = uid('cart')
    await track(base(), userId, 'Product Added', product(cart, 'cart-dup'))
    await track(base(), userId, 'Product Added', { ...product(cart, 'cart-dup'), product_id: 'p-2' })
    await track(base(), userId, 'Checkout Started', { cart_id: cart })
    await track(base(), userId, 'Checkout Started', { cart_id: uid('unrelated') })
    const workflowId = runId('cart-dup', userId, cart)
    const state = await waitFor(
      async () => {
        const s = await admin(`${base()}/api/journeys/cart-dup/runs/${userId}/state?correlation=${cart}`)
        return s.status === 200 && s.json.eventsSeen === 3 && s.json
      },
      10_000,
      'three events in the run',
    )
    expect(state).toMatchObject({ journeyId: 'cart-dup', step: 'wait', status: 'waiting', correlation: cart })
    await waitFor(async () => (await messagesTo(base(), email)).length === 1, 15_000, 'the reminder')
    await sleep(300)
    expect(await messagesTo(base(), email)).toHaveLength(1)
    const starts = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      "SELECT count() AS n FROM journey_runs WHERE workflow_id = {id:String} AND phase = 'started'",
      { id: workflowId },
    )
    expect(Number(starts[0]!.n)).toBe(1)
  })
})

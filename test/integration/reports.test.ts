import { describe, expect, it } from 'vitest'
import { admin, uid, useTestNudge } from '../helpers/harness.js'
import { runRow, sentRow, trackRow } from '../helpers/rows.js'

/**
 * Trigger latency and false-trigger detection on recorded journey data: each kind of mistake is
 * planted once (with a look-alike that is not one) and must come back classified, with evidence.
 */
const MIN = 60_000
describe('reports: trigger latency and false triggers', () => {
  const fx = useTestNudge({
    role: 'api',
    env: { LOG_LEVEL: 'error', FREQUENCY_CAP: '1/16h', QUIET_HOURS: '', FALSE_TRIGGER_CHECK_MS: '0', TRIGGER_LATENCY_SLOS: 'x:1s' },
  })
  const base = () => fx.nudge.url!

  it('classifies each planted false trigger with its evidence, counts what the pre-send check prevented, and reports latency against the SLO', async () => {
    const j = uid('cart').toLowerCase().replace(/_/g, '-')
    const created = await admin(`${base()}/api/journeys`, 'POST', {
      id: j,
      name: j,
      trigger: { type: 'event', event: 'Product Added' },
      entry: { correlationKey: 'cart_id' },
      exit: [{ type: 'event', event: 'Order Completed', match: 'correlation' }],
      steps: [{ id: 'mail', type: 'send', template: 'cart-reminder' }],
    })
    expect(created.status, JSON.stringify(created.json)).toBe(201)
    const t0 = Date.now() - 60 * MIN
    const c = fx.nudge.store.client
    const run = (w: string, user: string, corr: string, trigger: number, received: number, started: number, test = 0) =>
      runRow({
        workflow_id: w,
        journey_id: j,
        user_key: user,
        correlation: corr,
        trigger_at: trigger,
        received_at: received,
        at: started,
        is_test: test,
      })
    const send = (w: string, user: string, at: number, test = 0) => [
      sentRow({ message_id: `m-${w}`, workflow_id: w, journey_id: j, user_key: user, at, scheduled_at: at - 50, is_test: test }),
    ]
    const u = (n: string) => `${j}-${n}`
    await c.insert({
      table: 'journey_runs',
      format: 'JSONEachRow',
      values: [
        run('w1', u('conv'), 'c1', t0, t0 + 100, t0 + 350), // purchased that cart before the send
        run('w2', u('other'), 'c2', t0, t0 + 100, t0 + 300), // purchased another cart: fine
        run('w3', u('optout'), 'c3', t0, t0 + 100, t0 + 400), // withdrew consent before the send
        run('w4a', u('dup'), 'c4', t0, t0 + 100, t0 + 200), // the same cart twice
        run('w4b', u('dup'), 'c4', t0 + 5 * MIN, t0 + 5 * MIN + 100, t0 + 5 * MIN + 200),
        run('w5', u('stale'), 'c5', t0 - 3 * 1440 * MIN, t0, t0 + 250), // a 3-day-old event arriving now
        run('w6', u('qa'), 'c6', t0, t0 + 100, t0 + 150, 1), // a test account
        run('w7', u('slow'), 'c7', t0, t0 + 100, t0 + 100 + 6 * MIN), // started 6 minutes after the event arrived
      ],
    })
    await c.insert({
      table: 'send_ledger',
      format: 'JSONEachRow',
      values: [
        ...send('w1', u('conv'), t0 + 10 * MIN),
        ...send('w2', u('other'), t0 + 10 * MIN),
        ...send('w3', u('optout'), t0 + 10 * MIN),
        ...send('w4a', u('dup'), t0 + MIN),
        ...send('w4b', u('dup'), t0 + 6 * MIN),
        ...send('w5', u('stale'), t0 + 1000),
        ...send('w6', u('qa'), t0 + 1000, 1),
        ...send('w7', u('slow'), t0 + 6 * MIN + 200),
      ],
    })
    const ev = (user: string, cart: string, at: number) =>
      trackRow({ message_id: uid('e'), user, event: 'Order Completed', at, properties: { cart_id: cart } })
    await c.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [ev(u('conv'), 'c1', t0 + 2 * MIN), ev(u('other'), 'c-else', t0 + 2 * MIN)],
    })
    await c.insert({
      table: 'consent',
      format: 'JSONEachRow',
      values: [{ user_key: u('optout'), topic: 'marketing', granted: 0, changed_at: t0 + 3 * MIN, source: 'api', message_id: uid('c') }],
    })
    await c.insert({
      table: 'journey_steps',
      format: 'JSONEachRow',
      values: [
        {
          workflow_id: 'w9',
          journey_id: j,
          journey_version: 1,
          user_key: u('caught'),
          step_id: 'mail',
          step_type: 'send',
          outcome: 'skipped',
          reason: 'exit:Order Completed',
          scheduled_at: t0,
          at: t0,
          experiment_key: '',
          variant: '',
          flags: '{}',
          message_id: 'm-w9',
          is_test: 0,
        },
      ],
    })

    const report = (await admin(`${base()}/api/reports/false-triggers?journey=${j}`)).json
    const classes = (cls: string) => report.examples[cls].map((e: { userKey: string }) => e.userKey)
    expect(classes('sent_after_conversion')).toEqual([u('conv')])
    expect(report.examples.sent_after_conversion[0].evidence).toMatchObject({ conversion: { event: 'Order Completed' }, race: false })
    expect(classes('sent_after_opt_out')).toEqual([u('optout')])
    expect(classes('duplicate')).toEqual([u('dup')])
    expect(report.examples.duplicate[0].evidence.earlier.messageId).toBe('m-w4a')
    expect(classes('over_frequency_cap')).toEqual([u('dup')])
    expect(classes('stale_trigger')).toEqual([u('stale')])
    expect(classes('test_account')).toEqual([u('qa')])
    const row = report.journeys.find((r: { journey: string }) => r.journey === j)
    expect(row.sends).toBe(7)
    expect(row.rate).toBeCloseTo(4 / 7, 10) // conv, optout, dup (twice: one message), stale; the test account does not count
    expect(row.prevented).toEqual({ 'exit:Order Completed': 1 })
    expect(report.alert).toBe(true)

    // The monitor records each finding once for Grafana and /metrics.
    const first = await fx.nudge.falseTriggers.check()
    expect(first.filter((f) => f.journeyId === j).length).toBe(6) // conversion, opt-out, duplicate, over cap, stale, test account
    expect((await fx.nudge.falseTriggers.check()).filter((f) => f.journeyId === j)).toEqual([])
    const metrics = await (await fetch(`${base()}/metrics`)).text()
    expect(metrics).toMatch(new RegExp(`nudge_false_triggers_total\\{class="duplicate",journey="${j}"\\} 1`))

    const latency = (await admin(`${base()}/api/reports/trigger-latency?journey=${j}`)).json
    const lj = latency.journeys.find((r: { journey: string }) => r.journey === j)
    expect(lj.runs).toBe(7) // the test account is left out
    expect(lj.receivedToStarted.p50).toBe(250) // 100, 100, 200, 250, 250, 300, 360000: the element at ⌊0.5·7⌋
    expect(lj.eventToReceived.p99).toBe(3 * 1440 * MIN)
    expect(lj.slo.receivedToSentMs).toBe(5 * MIN)
    // Sends leave 50 ms after their schedule; only the slow run's start breaks the 5-minute SLO.
    expect(lj.slo.breaches).toBe(1)
    expect(lj.slo.examples[0].workflowId).toBe('w7')
    expect(lj.steps[0]).toMatchObject({ step: 'mail', sends: 7 })
  })

  it('a segment-triggered send whose user had left the segment by then is condition_false_at_send; one still (or again) a member is not', async () => {
    const seg = uid('ftseg').toLowerCase().replace(/_/g, '-')
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: seg,
          name: seg,
          rule: { computed: { property: 'days_inactive', op: 'gte', value: 30 } },
        })
      ).status,
    ).toBe(201)
    const j = `${seg}-winback`
    const created = await admin(`${base()}/api/journeys`, 'POST', {
      id: j,
      name: j,
      trigger: { type: 'segment_entry', segment: seg },
      steps: [{ id: 'mail', type: 'send', template: 'reengagement' }],
    })
    expect(created.status, JSON.stringify(created.json)).toBe(201)
    const c = fx.nudge.store.client
    const t0 = Date.now() - 30 * MIN
    const u = (n: string) => `${j}-${n}`
    const users = {
      left: [
        [t0, 1],
        [t0 + 2 * MIN, 0],
      ],
      stayed: [[t0, 1]],
      back: [
        [t0, 1],
        [t0 + 2 * MIN, 0],
        [t0 + 4 * MIN, 1],
      ],
      later: [
        [t0, 1],
        [t0 + 20 * MIN, 0],
      ],
    } as const
    await c.insert({
      table: 'segment_transitions',
      format: 'JSONEachRow',
      values: Object.entries(users).flatMap(([n, moves]) =>
        moves.map(([at, entered]) => ({
          segment_id: seg,
          user_key: u(n),
          entered,
          at,
          cause: entered ? 'event' : 'sweep',
          trigger_message_id: '',
          segment_version: 1,
        })),
      ),
    })
    await c.insert({
      table: 'journey_runs',
      format: 'JSONEachRow',
      values: Object.keys(users).map((n) =>
        runRow({
          workflow_id: `w-${u(n)}`,
          journey_id: j,
          user_key: u(n),
          trigger_message_id: `t-${n}`,
          trigger_event: 'segment_entry',
          trigger_at: t0,
          received_at: t0,
          at: t0 + 100,
        }),
      ),
    })
    await c.insert({
      table: 'send_ledger',
      format: 'JSONEachRow',
      values: Object.keys(users).map((n) =>
        sentRow({
          message_id: `m-${u(n)}`,
          workflow_id: `w-${u(n)}`,
          journey_id: j,
          user_key: u(n),
          at: t0 + 10 * MIN,
          template: 'reengagement',
        }),
      ),
    })
    const report = (await admin(`${base()}/api/reports/false-triggers?journey=${j}`)).json
    // 'later' left after the send: the condition held when it went out.
    expect(report.examples.condition_false_at_send.map((e: { userKey: string }) => e.userKey)).toEqual([u('left')])
    expect(report.examples.condition_false_at_send[0].evidence).toMatchObject({
      segment: { id: seg, memberRequired: true, member: false, cause: 'sweep' },
      race: false,
    })
    expect(report.journeys.find((r: { journey: string }) => r.journey === j).counts.condition_false_at_send).toBe(1)
  })
})

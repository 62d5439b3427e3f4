import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { ID_LIMITS } from '../../core/boundedId.js'
import { utf8Length } from '../../core/textBounds.js'
import { runId, userIdAttribute } from '../../workflows/client/journeyRuns.js'
import { scheduleId } from '../../workflows/client/journeySchedules.js'
import { admin, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, messagesTo, runsOf, sleep, track, waitFor } from '../helpers/journeys.js'

/**
 * Keys Nudge does not choose — user ids up to the 256 characters ingest allows, correlation
 * values of any length, emoji, right-to-left text, combining marks, UUIDs — through every step
 * type on the real dev server: each run ends within a bound (none spins on an id too long for a
 * limit), the mail goes out once, and every id Nudge composed from them fits its limit.
 */
describe('journeys with long, unicode and UUID keys: every run ends, once, with ids within limits', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '', LOG_LEVEL: 'error' } })
  const base = () => fx.nudge.url
  const EXPERIMENT = 'key-probe-split'

  const unicode = '👩‍👩‍👧‍👦 مرحبا بالعالم e\u0301a\u0308 שלום 🇳🇴'
  /** [label, userId, correlation value]: userIds unique per run of the suite. */
  const cases = (): [string, string, string][] => [
    ['long', `${uid('long')}-${'l'.repeat(300)}`.slice(0, 256), `cart-${'c'.repeat(300)}`],
    ['unicode', `${uid('uni')}-${unicode}`, `${unicode}-${unicode}-${unicode}`.repeat(4)],
    ['uuid', uid('uuid'), randomUUID()],
  ]

  it('an event-triggered journey keyed by cart_id: experiment, delay, update_trait, condition, wait, send, exit', async () => {
    const exp = {
      key: EXPERIMENT,
      name: 'Key probe split',
      variants: [
        { key: 'a', weight: 0.5 },
        { key: 'b', weight: 0.5 },
      ],
      primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7 },
    }
    expect((await admin(`${base()}/api/experiments`, 'POST', exp)).status).toBe(201)
    expect((await admin(`${base()}/api/experiments/${EXPERIMENT}/start`, 'POST')).status).toBe(200)
    await activeJourney(base(), {
      id: 'keys-all',
      name: 'Every step with any key',
      trigger: { type: 'event', event: 'Key Probe' },
      entry: { consent: 'marketing', reentry: 'always', correlationKey: 'cart_id' },
      exit: [{ type: 'event', event: 'Key Probe Bought', match: 'correlation' }],
      steps: [
        { id: 'split', type: 'experiment', experiment: EXPERIMENT },
        { id: 'pause', type: 'delay', duration: '100ms' },
        { id: 'mark', type: 'update_trait', key: 'probe_mark', value: 'seen' },
        { id: 'check', type: 'condition', when: [{ trigger: { path: 'properties.cart_id', op: 'exists' } }], then: 'hold', else: 'bye' },
        // The follow-up event reaches the run by its correlation value: router and run agree on the id.
        {
          id: 'hold',
          type: 'wait',
          for: { event: 'Key Probe Go', match: 'correlation' },
          timeout: '60s',
          onEvent: 'mail',
          onTimeout: 'bye',
        },
        { id: 'mail', type: 'send', template: 'related-products', subject: 'Probe' },
        { id: 'bye', type: 'exit' },
      ],
    })

    const all = cases()
    const emails = new Map(all.map(([label, userId]) => [userId, `${label}-${randomUUID()}@example.test`]))
    for (const [, userId] of all) await identify(base(), userId, { email: emails.get(userId) })
    const t0 = Date.now()
    for (const [, userId, cart] of all) {
      await track(base(), userId, 'Key Probe', { cart_id: cart })
      await track(base(), userId, 'Key Probe Go', { cart_id: cart })
    }

    for (const [label, userId, cart] of all) {
      // Bounded: a run that spun on a bad id would never end.
      const run = await endedRun(base(), 'keys-all', userId, 60_000)
      expect(run.outcome, label).toBe('exited')
      const workflowId = runId('keys-all', userId, cart)
      expect(run.workflowId, label).toBe(workflowId)
      expect(utf8Length(workflowId), label).toBeLessThanOrEqual(ID_LIMITS.workflowId)

      // The run records its end just before the workflow itself completes: wait for that.
      const described = await waitFor(
        async () => {
          const d = await fx.nudge.temporal.workflow.getHandle(workflowId).describe()
          return d.status.name === 'COMPLETED' && d
        },
        10_000,
        `${label}: the workflow to complete`,
      )
      expect(described.status.name, label).toBe('COMPLETED')
      expect(described.searchAttributes.EndReason, label).toEqual(['exited'])
      const userAttr = described.searchAttributes.UserId as string[]
      expect(userAttr, label).toEqual([userIdAttribute(userId)])
      expect(utf8Length(userAttr[0]!), label).toBeLessThanOrEqual(ID_LIMITS.keyword)
      expect(described.searchAttributes.ExperimentKey, label).toEqual([EXPERIMENT])
      // The admin API finds the run by the same user and correlation value.
      const state = await admin(
        `${base()}/api/journeys/keys-all/runs/${encodeURIComponent(userId)}/state?correlation=${encodeURIComponent(cart)}`,
      )
      expect(state.status, label).toBe(200)
      expect(state.json, label).toMatchObject({ status: 'ended', outcome: 'exited', sends: 1 })

      const steps = await selectRows<{ step_id: string; outcome: string }>(
        fx.nudge.store.client,
        'SELECT step_id, outcome FROM journey_steps WHERE workflow_id = {w:String} ORDER BY at',
        { w: workflowId },
      )
      // (Sorted: a send's record carries when it was sent, the others the run's time.)
      expect(steps.map((s) => `${s.step_id}:${s.outcome}`).sort(), label).toEqual([
        'bye:exit',
        'check:then',
        'hold:event',
        'mail:sent',
        'mark:updated',
        'pause:waited',
        'split:assigned',
      ])

      // The trait update went through ingest as an identify whose message id fits ingest's limit.
      const traits = await waitFor(
        async () => {
          const rows = await selectRows<{ value: string; message_id: string }>(
            fx.nudge.store.client,
            "SELECT value, message_id FROM traits FINAL WHERE user_key = {u:String} AND key = 'probe_mark'",
            { u: userId },
          )
          return rows.length ? rows : undefined
        },
        10_000,
        `the ${label} trait`,
      )
      expect(traits[0]!.value, label).toBe('"seen"')
      expect(traits[0]!.message_id.length, label).toBeLessThanOrEqual(ID_LIMITS.messageId)
      expect(utf8Length(traits[0]!.message_id), label).toBeLessThanOrEqual(ID_LIMITS.messageId)
    }
    expect(Date.now() - t0).toBeLessThan(120_000) // generous: the point is that it ends at all
    await sleep(500)
    for (const [label, userId] of all) expect((await messagesTo(base(), emails.get(userId)!)).length, label).toBe(1)
  })

  it('a segment-entry journey: its trigger message id (segment, user, time) fits the message-id limit', async () => {
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: 'key-probers',
          name: 'Key probers',
          rule: { trait: { key: 'probe_seg', op: 'eq', value: true } },
        })
      ).status,
    ).toBe(201)
    await activeJourney(base(), {
      id: 'keys-segment',
      name: 'Segment entry with any key',
      trigger: { type: 'segment_entry', segment: 'key-probers' },
      steps: [
        { id: 'mark', type: 'update_trait', key: 'probe_seg_mark', value: 1 },
        { id: 'mail', type: 'send', template: 'related-products', subject: 'Welcome' },
      ],
    })
    const all = cases()
    const emails = new Map(all.map(([label, userId]) => [userId, `${label}-${randomUUID()}@example.test`]))
    for (const [, userId] of all) await identify(base(), userId, { email: emails.get(userId), probe_seg: true })
    for (const [label, userId] of all) {
      const run = await endedRun(base(), 'keys-segment', userId, 60_000)
      expect(run.outcome, label).toBe('completed')
      expect(run.workflowId, label).toBe(runId('keys-segment', userId))
      const [row] = await selectRows<{ m: string }>(
        fx.nudge.store.client,
        "SELECT trigger_message_id AS m FROM journey_runs WHERE workflow_id = {w:String} AND phase = 'started'",
        { w: run.workflowId },
      )
      expect(row!.m.startsWith('segment:key-probers:entered:'), label).toBe(true)
      expect(utf8Length(row!.m), label).toBeLessThanOrEqual(ID_LIMITS.messageId)
      // The run record says it ended before the workflow's last task (which sets EndReason) is done.
      const described = await waitFor(
        async () => {
          const d = await fx.nudge.temporal.workflow.getHandle(run.workflowId).describe()
          return d.status.name === 'COMPLETED' && d
        },
        10_000,
        `${label}: the workflow to complete`,
      )
      expect(described.searchAttributes.EndReason, label).toEqual(['completed'])
    }
    await sleep(500)
    for (const [label, userId] of all) expect((await messagesTo(base(), emails.get(userId)!)).length, label).toBe(1)
    expect((await runsOf(base(), 'keys-segment')).length).toBe(all.length)
  })

  it('a schedule-triggered journey: each member enters once per slot, its trigger message id within the limit', async () => {
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: 'key-scheduled',
          name: 'Key scheduled',
          rule: { trait: { key: 'probe_sched', op: 'eq', value: true } },
        })
      ).status,
    ).toBe(201)
    const all = cases()
    const emails = new Map(all.map(([label, userId]) => [userId, `${label}-${randomUUID()}@example.test`]))
    for (const [, userId] of all) await identify(base(), userId, { email: emails.get(userId), probe_sched: true })
    await waitFor(
      async () => (await admin(`${base()}/api/segments/key-scheduled/members`)).json.members.length === all.length,
      10_000,
      'the segment',
    )
    await activeJourney(base(), {
      id: 'keys-schedule',
      name: 'Scheduled with any key',
      trigger: { type: 'schedule', every: '2s', segment: 'key-scheduled' },
      entry: { reentry: 'never' },
      steps: [
        { id: 'mark', type: 'update_trait', key: 'probe_sched_mark', value: true },
        { id: 'mail', type: 'send', template: 'related-products', subject: 'Scheduled' },
      ],
    })
    for (const [label, userId] of all) {
      const run = await endedRun(base(), 'keys-schedule', userId, 60_000)
      expect(run.outcome, label).toBe('completed')
      const [row] = await selectRows<{ m: string }>(
        fx.nudge.store.client,
        "SELECT trigger_message_id AS m FROM journey_runs WHERE workflow_id = {w:String} AND phase = 'started'",
        { w: run.workflowId },
      )
      expect(row!.m.startsWith('schedule:keys-schedule:'), label).toBe(true)
      expect(utf8Length(row!.m), label).toBeLessThanOrEqual(ID_LIMITS.messageId)
    }
    await admin(`${base()}/api/journeys/keys-schedule/pause`, 'POST')
    await waitFor(
      async () =>
        fx.nudge.temporal.schedule
          .getHandle(scheduleId(`test-${process.pid}`, 'keys-schedule'))
          .describe()
          .then(
            () => false,
            () => true,
          ),
      20_000,
      'the schedule to go',
    )
    for (const [label, userId] of all) expect((await messagesTo(base(), emails.get(userId)!)).length, label).toBe(1)
  })
})

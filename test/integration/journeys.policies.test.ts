import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { runId } from '../../workflows/client/journeyRuns.js'
import { uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, messagesTo, rawMessage, sleep, track, waitFor } from '../helpers/journeys.js'

// Quiet hours around the current UTC time, so every send in this file meets them unless exempt.
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16)
const QUIET = `${hhmm(Date.now() - 3_600_000)}-${hhmm(Date.now() + 3_600_000)}`
const QUIET_END = Date.parse(`${new Date(Date.now() + 3_600_000).toISOString().slice(0, 16)}:00.000Z`)

/** Frequency cap with priority, quiet hours, test accounts — each against the real store and server. */
describe('journey policies: frequency cap, quiet hours, test accounts', () => {
  const fx = useTestNudge({
    role: 'all',
    env: {
      CONFIG_POLL_MS: '100',
      FREQUENCY_CAP: '1/1h',
      FREQUENCY_CAP_MODE: 'skip',
      QUIET_HOURS: QUIET,
      QUIET_HOURS_TZ: 'UTC',
      TEST_EMAIL_PATTERN: '@qa\\.example$',
    },
  })
  const base = () => fx.nudge.url
  const immediate = (id: string, event: string, priority: number, topic?: string) => ({
    id,
    name: id,
    trigger: { type: 'event', event },
    priority,
    steps: [{ id: 'send', type: 'send', template: 'related-products', subject: `from ${id}`, ...(topic ? { topic } : {}) }],
  })
  const steps = (workflowId: string) =>
    selectRows<{ outcome: string; reason: string }>(
      fx.nudge.store.client,
      "SELECT outcome, reason FROM journey_steps WHERE workflow_id = {w:String} AND step_type = 'send' ORDER BY at",
      { w: workflowId },
    )

  it('quiet hours defer a marketing send to the end of the window (user’s timezone); transactional mail is not held', async () => {
    await activeJourney(base(), immediate('quiet-mkt', 'Quiet Probe', 50))
    await activeJourney(base(), { ...immediate('quiet-tx', 'Receipt Probe', 50, 'transactional'), entry: { consent: 'transactional' } })
    const userId = uid('night')
    const email = `${userId}@example.test`
    await identify(base(), userId, { email, timezone: 'UTC' })
    await track(base(), userId, 'Quiet Probe')
    await track(base(), userId, 'Receipt Probe')
    const [receipt] = await waitFor(
      async () => (await messagesTo(base(), email)).length === 1 && messagesTo(base(), email),
      10_000,
      'the transactional mail',
    )
    expect(receipt!.subject).toBe('from quiet-tx')
    const state = await waitFor(
      async () => {
        const s = await fetch(`${base()}/api/journeys/quiet-mkt/runs/${userId}/state`, {
          headers: { authorization: 'Bearer admin_test_key_123' },
        }).then((r) => r.json() as Promise<{ status: string; until?: number }>)
        return s.status === 'waiting' && s
      },
      10_000,
      'the deferral',
    )
    expect(Math.abs(state.until! - QUIET_END)).toBeLessThan(1000)
    expect(await steps(`journey:quiet-mkt:${userId}`)).toEqual([{ outcome: 'deferred', reason: 'quiet_hours' }])
    expect(await messagesTo(base(), email)).toHaveLength(1)
  })

  it('test accounts run for real, mail only the capture mailbox (marked), skip cap and quiet hours, and are flagged for analytics to leave out', async () => {
    await activeJourney(base(), immediate('qa-probe', 'QA Probe', 50))
    const userId = uid('qa')
    const email = `${userId}@qa.example`
    await identify(base(), userId, { email })
    await track(base(), userId, 'QA Probe')
    const [m] = await waitFor(
      async () => (await messagesTo(base(), email)).length === 1 && messagesTo(base(), email),
      10_000,
      'the test account’s mail',
    )
    expect(await rawMessage(base(), m!.messageId)).toMatch(/X-Nudge-Test: 1/i)
    const ledger = await selectRows<{ is_test: number }>(
      fx.nudge.store.client,
      "SELECT is_test FROM send_ledger WHERE message_id = {id:String} AND status = 'sent'",
      { id: m!.messageId },
    )
    expect(ledger.map((r) => Number(r.is_test))).toEqual([1])
  })
})

describe('frequency cap across journeys: the higher priority wins the slot', () => {
  const fx = useTestNudge({
    role: 'all',
    env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '1/1h', FREQUENCY_CAP_MODE: 'skip', QUIET_HOURS: '' },
  })
  const base = () => fx.nudge.url

  it('two journeys want the same user at once: one email, from the higher priority; the other is skipped with its reason', async () => {
    const send = (id: string, priority: number) => ({
      id,
      name: id,
      trigger: { type: 'event', event: 'Both Probe' },
      priority,
      steps: [{ id: 'send', type: 'send', template: 'related-products', subject: `from ${id}` }],
    })
    await activeJourney(base(), send('low-prio', 10))
    await activeJourney(base(), send('high-prio', 90))
    const results: string[] = []
    for (let i = 0; i < 3; i++) {
      const userId = uid('capped')
      const email = `${userId}@example.test`
      await identify(base(), userId, { email })
      await track(base(), userId, 'Both Probe')
      await endedRun(base(), 'low-prio', userId)
      await endedRun(base(), 'high-prio', userId)
      await sleep(200)
      const got = await messagesTo(base(), email)
      expect(got).toHaveLength(1)
      results.push(got[0]!.subject)
      const skipped = await selectRows<{ reason: string }>(
        fx.nudge.store.client,
        "SELECT reason FROM journey_steps WHERE user_key = {u:String} AND outcome = 'skipped'",
        { u: userId },
      )
      expect(skipped.map((r) => r.reason)).toEqual(['frequency_cap'])
    }
    // Sends that reach the gate within FREQUENCY_CAP_PRIORITY_WINDOW_MS of each other compete.
    expect(results).toEqual(['from high-prio', 'from high-prio', 'from high-prio'])
  })

  it('a trigger event older than STALE_TRIGGER_MAX_AGE when it arrives starts no run; a fresh one does', async () => {
    // Transactional: the frequency cap of this file's instance does not get in the way.
    await activeJourney(base(), {
      id: 'stale-probe',
      name: 'stale-probe',
      trigger: { type: 'event', event: 'Stale Probe' },
      entry: { consent: 'transactional' },
      steps: [{ id: 'send', type: 'send', template: 'related-products', topic: 'transactional' }],
    })
    const old = uid('old')
    const fresh = uid('fresh')
    for (const u of [old, fresh]) await identify(base(), u, { email: `${u}@example.test` })
    await track(base(), old, 'Stale Probe', {}, { timestamp: new Date(Date.now() - 3 * 86_400_000).toISOString() })
    await track(base(), fresh, 'Stale Probe')
    await waitFor(async () => (await messagesTo(base(), `${fresh}@example.test`)).length === 1, 10_000, 'the fresh trigger’s mail')
    await sleep(500)
    expect(await messagesTo(base(), `${old}@example.test`)).toEqual([])
    const runs = await fetch(`${base()}/api/journeys/stale-probe/runs?user=${old}`, {
      headers: { authorization: 'Bearer admin_test_key_123' },
    }).then((r) => r.json() as Promise<{ runs: unknown[] }>)
    expect(runs.runs).toEqual([])
    expect(fx.nudge.journeys.router!.staleTriggers).toBeGreaterThanOrEqual(1)
  })

  it('the same cart re-entering after its reminder went out is skipped as a duplicate (DUPLICATE_WINDOW); another cart is not', async () => {
    // Transactional, so the frequency cap and quiet hours of this file's instance stay out of it.
    await activeJourney(base(), {
      id: 'dup-cart',
      name: 'dup-cart',
      trigger: { type: 'event', event: 'Dup Cart Added' },
      entry: { consent: 'transactional', reentry: 'always', correlationKey: 'cart_id' },
      steps: [{ id: 'send', type: 'send', template: 'related-products', topic: 'transactional' }],
    })
    const userId = uid('dup')
    const email = `${userId}@example.test`
    await identify(base(), userId, { email })
    await track(base(), userId, 'Dup Cart Added', { cart_id: 'k1' })
    await waitFor(async () => (await messagesTo(base(), email)).length === 1, 10_000, 'the first reminder')
    const first = runId('dup-cart', userId, 'k1')
    const steps = (w: string) =>
      selectRows<{ outcome: string; reason: string }>(
        fx.nudge.store.client,
        "SELECT outcome, reason FROM journey_steps WHERE workflow_id = {w:String} AND step_type = 'send' ORDER BY at",
        { w },
      )
    // The run is over; the same cart added again (a new event, a second client) enters again…
    await endedRun(base(), 'dup-cart', userId)
    await waitFor(
      async () => (await fx.nudge.temporal.workflow.getHandle(first).describe()).status.name !== 'RUNNING',
      10_000,
      'the first run closed in Temporal',
    )
    await track(base(), userId, 'Dup Cart Added', { cart_id: 'k1' })
    await track(base(), userId, 'Dup Cart Added', { cart_id: 'k2' })
    await waitFor(async () => (await messagesTo(base(), email)).length === 2, 10_000, 'the other cart’s reminder')
    // …and the check before the send finds that cart's reminder already out: skipped, with its reason.
    const skipped = await waitFor(async () => (await steps(first)).find((s) => s.outcome === 'skipped'), 10_000, 'the re-entry skipped')
    expect(skipped.reason).toBe('duplicate')
    await sleep(300)
    expect((await messagesTo(base(), email)).length).toBe(2)
  })

  it('one run visiting its send step again (a loop) is not a duplicate: each visit sends, and the report finds nothing', async () => {
    await activeJourney(base(), {
      id: 'loop-cart',
      name: 'loop-cart',
      trigger: { type: 'event', event: 'Loop Cart Added' },
      entry: { consent: 'transactional', reentry: 'always', correlationKey: 'cart_id' },
      steps: [
        { id: 'send', type: 'send', template: 'related-products', topic: 'transactional' },
        {
          id: 'more',
          type: 'wait',
          for: { event: 'More Please', match: 'correlation' },
          timeout: '3s',
          onEvent: 'send',
          onTimeout: 'done',
        },
        { id: 'done', type: 'exit' },
      ],
    })
    const userId = uid('loop')
    const email = `${userId}@example.test`
    await identify(base(), userId, { email })
    await track(base(), userId, 'Loop Cart Added', { cart_id: 'k1' })
    await waitFor(async () => (await messagesTo(base(), email)).length === 1, 10_000, 'the first visit’s mail')
    await waitFor(
      async () => (await fx.nudge.journeys.runs.state(runId('loop-cart', userId, 'k1')))?.step === 'more',
      10_000,
      'the run waiting in its loop',
    )
    await track(base(), userId, 'More Please', { cart_id: 'k1' })
    await waitFor(async () => (await messagesTo(base(), email)).length === 2, 10_000, 'the second visit’s mail')
    // Back at the wait, the event it already went on with does not count again: it waits for a new one, then times out.
    const ended = await endedRun(base(), 'loop-cart', userId)
    expect(ended.outcome).toBe('exited')
    expect(await messagesTo(base(), email)).toHaveLength(2)
    const report = (await fetch(`${base()}/api/reports/false-triggers?journey=loop-cart`, {
      headers: { authorization: 'Bearer admin_test_key_123' },
    }).then((r) => r.json())) as { counts: Record<string, number> }
    expect(report.counts.duplicate).toBe(0)
  })
})

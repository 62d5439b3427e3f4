import { describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import {
  browseAbandonment,
  browseExperiment,
  contentFollowUp,
  exampleJourneys,
  inactiveSegment,
  postPurchaseLoyalty,
  reengagement,
} from '../../journeys/examples.js'
import { installExamples } from '../../demo/installExamples.js'
import { runId } from '../../workflows/client/journeyRuns.js'
import { scheduleId } from '../../workflows/client/journeySchedules.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, messagesTo, rawMessage, runsOf, sleep, track, waitFor } from '../helpers/journeys.js'

/** The seed's other journeys end to end, definitions' validation and lifecycle, and erasure. */
describe('journeys: definitions, the seed examples end to end, erasure', () => {
  const fx = useTestNudge({ role: 'all', env: { CONFIG_POLL_MS: '100', FREQUENCY_CAP: '', QUIET_HOURS: '' } })
  const base = () => fx.nudge.url
  const url = (p = '') => `${base()}/api/journeys${p}`
  async function person(prefix: string, traits: Record<string, unknown> = {}) {
    const userId = uid(prefix)
    const email = `${userId}@example.test`
    await identify(base(), userId, { email, first_name: 'Grace', ...traits })
    return { userId, email }
  }

  it('refuses bad definitions with 400 naming the path and rule', async () => {
    const bad = await admin(url(), 'POST', {
      id: 'broken',
      name: 'Broken',
      trigger: { type: 'event', event: 'Signed Up' },
      exit: [{ type: 'event', event: 'Order Completed', match: 'correlation' }],
      steps: [
        { id: 'wait', type: 'delay', flag: { key: 'no.such.flag', default: '1h' }, next: 'send' },
        { id: 'orphan', type: 'send', template: 'cart-reminder' },
        { id: 'send', type: 'send', template: 'no-such-template', next: 'nowhere' },
      ],
    })
    expect(bad.status).toBe(400)
    expect(bad.json.error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'steps[0].flag.key', rule: 'reference' }),
        expect.objectContaining({ path: 'steps[1]', rule: 'unreachable' }),
        expect.objectContaining({ path: 'steps[2].template', rule: 'reference' }),
        expect.objectContaining({ path: 'steps[2].next', rule: 'reference' }),
        expect.objectContaining({ path: 'exit[0].match', rule: 'correlation_key' }),
      ]),
    )
    const shape = await admin(url(), 'POST', { id: 'Bad Id', name: '', trigger: { type: 'event' }, steps: [] })
    expect(shape.status).toBe(400)
    expect(shape.json.error.issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['id', 'name', 'trigger.event', 'steps']),
    )
    const loop = await admin(url(), 'POST', {
      id: 'spin',
      name: 'Spin',
      trigger: { type: 'event', event: 'X' },
      steps: [
        { id: 'a', type: 'update_trait', key: 'k', value: 1, next: 'b' },
        { id: 'b', type: 'condition', when: [{ trait: { key: 'k', op: 'eq', value: 1 } }], then: 'a', else: 'a' },
      ],
    })
    expect(loop.json.error.issues).toEqual([expect.objectContaining({ rule: 'cycle' })])
    // A bare number once meant milliseconds here and seconds in segments: now it needs its unit.
    const bare = await admin(url(), 'POST', {
      id: 'bare-delay',
      name: 'Bare delay',
      trigger: { type: 'event', event: 'X' },
      steps: [{ id: 'wait', type: 'delay', duration: 60000 }],
    })
    expect(bare.status).toBe(400)
    expect(bare.json.error.issues).toEqual([
      expect.objectContaining({ path: 'steps[0].duration', rule: 'unit', message: expect.stringMatching(/with a unit, e\.g\. 15m/) }),
    ])
  })

  it('lifecycle: a draft does not trigger; a paused journey takes no new entries; archived is final; runs keep their version', async () => {
    const def = {
      ...contentFollowUp,
      id: 'lifecycle',
      trigger: { type: 'event', event: 'Lifecycle Probe' },
      steps: [
        { id: 'wait', type: 'delay', duration: '1500ms' },
        { id: 'related', type: 'send', template: 'related-products' },
      ],
    }
    expect((await admin(url(), 'POST', def)).status).toBe(201)
    const early = await person('draft')
    await track(base(), early.userId, 'Lifecycle Probe', { title: 'x' })
    expect((await admin(url('/lifecycle/activate'), 'POST')).json).toMatchObject({ status: 'active', version: 2 })
    const first = await person('v2')
    await track(base(), first.userId, 'Lifecycle Probe', { title: 'Trail guide' })
    await waitFor(async () => (await admin(url(`/lifecycle/runs/${first.userId}/state`))).status === 200, 5000, 'the run')
    const updated = await admin(url('/lifecycle'), 'PUT', {
      ...def,
      id: undefined,
      name: 'Lifecycle v3',
      steps: [
        { id: 'wait', type: 'delay', duration: '100ms' },
        { id: 'related', type: 'send', template: 'related-products', subject: 'Version three' },
      ],
    })
    expect(updated.json).toMatchObject({ version: 3, status: 'active' })
    const [old] = await waitFor(
      async () => (await messagesTo(base(), first.email)).length === 1 && messagesTo(base(), first.email),
      10_000,
      'the v2 run to send',
    )
    expect(old!.subject).toBe('More like Trail guide') // the run followed version 2
    const second = await person('v3')
    await track(base(), second.userId, 'Lifecycle Probe', { title: 'y' })
    const [fresh] = await waitFor(
      async () => (await messagesTo(base(), second.email)).length === 1 && messagesTo(base(), second.email),
      10_000,
      'the v3 run to send',
    )
    expect(fresh!.subject).toBe('Version three')
    expect((await admin(url('/lifecycle/versions/2'))).json.steps[0].duration).toBe('1500ms')
    await admin(url('/lifecycle/pause'), 'POST')
    const late = await person('paused')
    await track(base(), late.userId, 'Lifecycle Probe', { title: 'z' })
    expect((await admin(url('/lifecycle/archive'), 'POST')).json.status).toBe('archived')
    expect((await admin(url('/lifecycle/activate'), 'POST')).status).toBe(409)
    expect((await admin(url('/lifecycle'), 'PUT', { ...def, id: undefined })).status).toBe(409)
    await sleep(500)
    expect(await messagesTo(base(), early.email)).toEqual([])
    expect(await messagesTo(base(), late.email)).toEqual([])
  })

  it('browse abandonment: viewed, not purchased → an experiment picks the tailored offer or social proof', async () => {
    await admin(`${base()}/api/experiments`, 'POST', browseExperiment)
    await admin(`${base()}/api/experiments/${browseExperiment.key}/start`, 'POST')
    await activeJourney(base(), {
      ...browseAbandonment,
      steps: browseAbandonment.steps.map((s) => (s.id === 'wait' ? { id: 'wait', type: 'delay', duration: '300ms' } : s)),
    })
    const shoppers = await Promise.all(Array.from({ length: 6 }, () => person('browser')))
    for (const s of shoppers)
      await track(base(), s.userId, 'Product Viewed', {
        name: 'Alpine Jacket',
        category: 'outerwear',
        image_url: 'https://cdn.example/j.jpg',
      })
    const buyer = await person('buyer')
    await track(base(), buyer.userId, 'Product Viewed', { name: 'Alpine Jacket' })
    await track(base(), buyer.userId, 'Order Completed', { revenue: 120 })
    for (const s of shoppers) {
      const [m] = await waitFor(
        async () => (await messagesTo(base(), s.email)).length === 1 && messagesTo(base(), s.email),
        15_000,
        'the browse email',
      )
      const arm = fx.nudge.experiments.assign(browseExperiment.key, s.userId).variant
      expect(m!.subject).toBe(arm === 'offer' ? 'Still thinking about Alpine Jacket?' : 'Alpine Jacket is popular this week')
    }
    expect((await endedRun(base(), browseAbandonment.id, buyer.userId)).outcome).toBe('exit:Order Completed')
    expect(await messagesTo(base(), buyer.email)).toEqual([])
  })

  it('re-engagement: entering the inactive-30-days segment sends content from past behaviour', async () => {
    expect((await admin(`${base()}/api/segments`, 'POST', inactiveSegment)).status).toBe(201)
    await activeJourney(base(), reengagement)
    const userId = uid('lapsed')
    const email = `${userId}@example.test`
    const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString()
    // Everything they did, they did 40 days ago: the event that arrives now puts them in the segment.
    expect((await post(`${base()}/v1/identify`, { userId, traits: { email, first_name: 'Grace' }, timestamp: longAgo })).status).toBe(200)
    await track(base(), userId, 'Collection Browsed', { category: 'climbing' }, { timestamp: longAgo })
    const [m] = await waitFor(
      async () => (await messagesTo(base(), email)).length === 1 && messagesTo(base(), email),
      15_000,
      'the win-back email',
    )
    expect(m!.subject).toBe('We miss you, Grace')
    expect(await rawMessage(base(), m!.messageId)).toContain('New in climbing since your last visit.')
  })

  it('post-purchase loyalty: a repeat visit after a purchase → a loyalty offer; no visit → nothing', async () => {
    await activeJourney(base(), {
      ...postPurchaseLoyalty,
      steps: postPurchaseLoyalty.steps.map((s) => (s.id === 'visit' ? { ...s, timeout: '1500ms' } : s)),
    })
    const back = await person('loyal')
    const gone = await person('oneoff')
    for (const p of [back, gone]) await track(base(), p.userId, 'Order Completed', { revenue: 40 })
    await waitFor(
      async () => (await admin(url(`/post-purchase-loyalty/runs/${back.userId}/state`))).json?.step === 'visit',
      5000,
      'the wait',
    )
    expect((await post(`${base()}/v1/page`, { userId: back.userId, name: 'Home' })).status).toBe(200)
    const [m] = await waitFor(
      async () => (await messagesTo(base(), back.email)).length === 1 && messagesTo(base(), back.email),
      10_000,
      'the loyalty offer',
    )
    expect(m!.subject).toBe('Thanks for coming back — a loyalty treat inside')
    expect((await endedRun(base(), 'post-purchase-loyalty', gone.userId)).outcome).toBe('exited')
    expect(await messagesTo(base(), gone.email)).toEqual([])
  })

  it('content follow-up: a viewed video → related products; an article view of another type does not enter', async () => {
    await activeJourney(base(), {
      ...contentFollowUp,
      steps: contentFollowUp.steps.map((s) => (s.id === 'wait' ? { id: 'wait', type: 'delay', duration: '200ms' } : s)),
    })
    const viewer = await person('viewer')
    const reader = await person('reader')
    await track(base(), viewer.userId, 'Content Viewed', { type: 'video', title: 'Waxing skis', category: 'ski care' })
    await track(base(), reader.userId, 'Content Viewed', { type: 'podcast', title: 'Talk' })
    const [m] = await waitFor(
      async () => (await messagesTo(base(), viewer.email)).length === 1 && messagesTo(base(), viewer.email),
      10_000,
      'the follow-up',
    )
    expect(m!.subject).toBe('More like Waxing skis')
    expect(await rawMessage(base(), m!.messageId)).toContain('in ski care')
    await sleep(500)
    expect(await messagesTo(base(), reader.email)).toEqual([])
  })

  it('a schedule trigger: a Temporal Schedule enters every member of the segment each interval', async () => {
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: 'digest-readers',
          name: 'Digest readers',
          rule: { trait: { key: 'digest', op: 'eq', value: true } },
        })
      ).status,
    ).toBe(201)
    const readers = await Promise.all([person('reader-a', { digest: true }), person('reader-b', { digest: true })])
    const other = await person('not-reader', { digest: false })
    await waitFor(async () => (await admin(`${base()}/api/segments/digest-readers/members`)).json.members.length === 2, 5000, 'the segment')
    await activeJourney(base(), {
      id: 'weekly-digest',
      name: 'Digest',
      trigger: { type: 'schedule', every: '2s', segment: 'digest-readers' },
      entry: { reentry: 'never' },
      steps: [{ id: 'send', type: 'send', template: 'related-products', subject: 'Your digest' }],
    })
    const schedule = fx.nudge.temporal.schedule.getHandle(scheduleId(`test-${process.pid}`, 'weekly-digest'))
    const described = await waitFor(() => schedule.describe().catch(() => undefined), 20_000, 'the schedule')
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 2000 })])
    for (const r of readers)
      await waitFor(async () => (await messagesTo(base(), r.email)).length === 1, 30_000, 'the digest (the schedule fires every 2 s)')
    await sleep(2500) // another interval: re-entry "never" keeps it at one each
    for (const r of readers) expect(await messagesTo(base(), r.email)).toHaveLength(1)
    expect(await messagesTo(base(), other.email)).toEqual([])
    await admin(url('/weekly-digest/pause'), 'POST')
    await waitFor(
      async () =>
        await schedule.describe().then(
          () => false,
          () => true,
        ),
      20_000,
      'the schedule to go',
    )
  })

  it('a segment-entry run whose user left the segment before the send is skipped: the trigger is re-checked at the send', async () => {
    expect(
      (
        await admin(`${base()}/api/segments`, 'POST', {
          id: 'vip-now',
          name: 'VIP now',
          rule: { trait: { key: 'vip', op: 'eq', value: true } },
        })
      ).status,
    ).toBe(201)
    // The run waits for the test's go-ahead, so the segment change surely comes before the send.
    await activeJourney(base(), {
      id: 'vip-welcome',
      name: 'VIP welcome',
      trigger: { type: 'segment_entry', segment: 'vip-now' },
      steps: [
        { id: 'go', type: 'wait', for: { event: 'VIP Go', match: 'user' }, timeout: '60s', onEvent: 'send', onTimeout: 'send' },
        { id: 'send', type: 'send', template: 'related-products', subject: 'Welcome, VIP' },
      ],
    })
    const stays = await person('vip-stays')
    const leaves = await person('vip-leaves')
    for (const p of [stays, leaves]) await identify(base(), p.userId, { vip: true })
    for (const p of [stays, leaves])
      await waitFor(async () => (await runsOf(base(), 'vip-welcome', p.userId)).length === 1, 20_000, `the run of ${p.userId}`)
    await identify(base(), leaves.userId, { vip: false })
    await waitFor(
      async () => !(await admin(`${base()}/api/segments/vip-now/members`)).json.members.includes(leaves.userId),
      10_000,
      'the one who leaves out of the segment',
    )
    for (const p of [stays, leaves]) await track(base(), p.userId, 'VIP Go')
    await waitFor(async () => (await messagesTo(base(), stays.email)).length === 1, 20_000, 'the welcome of the one who stays')
    const ended = await endedRun(base(), 'vip-welcome', leaves.userId, 20_000)
    expect(ended.outcome).toBe('condition_false:vip-now')
    expect(await messagesTo(base(), leaves.email)).toEqual([])
  })

  it('conditions on the trigger and traits branch; update_trait writes a trait the next send reads; a local-time window that is open does not wait', async () => {
    const now = new Date()
    const hhmm = (d: Date) => d.toISOString().slice(11, 16)
    await activeJourney(base(), {
      id: 'quiz',
      name: 'Quiz',
      trigger: { type: 'event', event: 'Quiz Done' },
      steps: [
        {
          id: 'score',
          type: 'condition',
          when: [{ trigger: { path: 'properties.score', op: 'gte', value: 80 } }],
          then: 'tag',
          else: 'consolation',
        },
        { id: 'tag', type: 'update_trait', key: 'tier', value: 'gold' },
        {
          id: 'office-hours',
          type: 'delay',
          until: { from: hhmm(new Date(now.getTime() - 3_600_000)), to: hhmm(new Date(now.getTime() + 3_600_000)), timezone: 'UTC' },
        },
        { id: 'congrats', type: 'send', template: 'related-products', subject: 'Welcome to {{ user.tier }}', next: 'done' },
        {
          id: 'consolation',
          type: 'condition',
          when: [{ trait: { key: 'first_name', op: 'eq', value: 'Grace' } }],
          then: 'retry',
          else: 'done',
        },
        { id: 'retry', type: 'send', template: 'related-products', subject: 'Try again, {{ user.first_name }}' },
        { id: 'done', type: 'exit' },
      ],
    })
    const high = await person('high')
    const low = await person('low')
    await track(base(), high.userId, 'Quiz Done', { score: 91 })
    await track(base(), low.userId, 'Quiz Done', { score: 12 })
    const [a] = await waitFor(
      async () => (await messagesTo(base(), high.email)).length === 1 && messagesTo(base(), high.email),
      10_000,
      'the high scorer’s mail',
    )
    expect(a!.subject).toBe('Welcome to gold')
    const [b] = await waitFor(
      async () => (await messagesTo(base(), low.email)).length === 1 && messagesTo(base(), low.email),
      10_000,
      'the low scorer’s mail',
    )
    expect(b!.subject).toBe('Try again, Grace')
    const profile = await admin(`${base()}/api/users/${high.userId}`)
    expect(profile.json.traits.tier).toBe('gold')
    const steps = await selectRows<{ step_id: string; outcome: string }>(
      fx.nudge.store.client,
      'SELECT step_id, outcome FROM journey_steps WHERE user_key = {u:String} ORDER BY at, step_id',
      { u: low.userId },
    )
    // (Steps recorded by the workflow carry workflow time, which stands still within a task.)
    expect(steps.map((x) => `${x.step_id}:${x.outcome}`).sort()).toEqual(['consolation:then', 'done:exit', 'retry:sent', 'score:else'])
  })

  it('erasing a user ends their running journeys and deletes every run of theirs from Temporal, open or closed', async () => {
    await activeJourney(base(), {
      ...contentFollowUp,
      id: 'erasable',
      trigger: { type: 'event', event: 'Erase Probe' },
      steps: [
        { id: 'wait', type: 'delay', duration: '1h' },
        { id: 'related', type: 'send', template: 'related-products' },
      ],
    })
    await activeJourney(base(), {
      id: 'erasable-done',
      name: 'Erasable, done at once',
      trigger: { type: 'event', event: 'Erase Probe' },
      steps: [{ id: 'mark', type: 'update_trait', key: 'probed', value: true }],
    })
    const { userId } = await person('erased')
    await track(base(), userId, 'Erase Probe', { secret_note: 'trigger properties are kept in the run history' })
    const handle = fx.nudge.temporal.workflow.getHandle(runId('erasable', userId))
    const done = fx.nudge.temporal.workflow.getHandle(runId('erasable-done', userId))
    await waitFor(async () => (await handle.describe().catch(() => undefined))?.status.name === 'RUNNING', 5000, 'the run')
    await endedRun(base(), 'erasable-done', userId)
    // (The run records its end just before the workflow itself completes.)
    await waitFor(async () => (await done.describe()).status.name === 'COMPLETED', 10_000, 'the finished run to complete')
    const visible = async () => {
      const ids: string[] = []
      for await (const w of fx.nudge.temporal.workflow.list({ query: `UserId = '${userId}'` })) ids.push(w.workflowId)
      return ids
    }
    await waitFor(async () => (await visible()).length === 2, 10_000, 'both runs in visibility')
    expect((await admin(`${base()}/api/users/${userId}`, 'DELETE')).status).toBe(200)
    // Deleted, not only terminated: no history (trigger properties, activity inputs) and no UserId row left to read.
    const gone = async (h: typeof handle) =>
      await h.describe().then(
        () => false,
        (err: Error) => err.name === 'WorkflowNotFoundError',
      )
    // The running one at once; Temporal removes a closed run asynchronously (~30 s on the dev server).
    await waitFor(async () => await gone(handle), 10_000, 'the open run deleted')
    await waitFor(async () => await gone(done), 90_000, 'the closed run deleted')
    await waitFor(async () => (await visible()).length === 0, 20_000, 'no run of theirs left in visibility')
    const left = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      'SELECT count() AS n FROM journey_runs WHERE user_key = {u:String}',
      { u: userId },
    )
    expect(Number(left[0]!.n)).toBe(0)
    // An id Temporal cannot take in a query (a NUL) has no runs to delete, and is not a server error.
    expect(await fx.nudge.journeys.runs.deleteUserRuns(`${userId}\u0000x`)).toBe(0)
  }, 150_000)

  it('npm run examples installs the seed journeys (and can run again)', async () => {
    const lines: string[] = []
    await installExamples(base(), 'admin_test_key_123', (l) => lines.push(l))
    await installExamples(base(), 'admin_test_key_123', (l) => lines.push(l))
    const journeys = (await admin(url())).json.journeys as { id: string; status: string }[]
    for (const j of exampleJourneys) expect(journeys.find((x) => x.id === j.id)?.status, j.id).toBe('active')
    expect(lines.filter((l) => l.startsWith('exists')).length).toBeGreaterThan(exampleJourneys.length)
  })
})

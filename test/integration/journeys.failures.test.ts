import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client'
import { NativeConnection, type Worker } from '@temporalio/worker'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { failedRuns } from '../../analytics/reports/falseTriggers.js'
import { selectRows } from '../../clickhouse/store.js'
import { ValidationError } from '../../core/errors.js'
import { JourneyRecorder } from '../../journeys/journeyRecorder.js'
import { TriggerRouter } from '../../journeys/triggerRouter.js'
import type { JourneyDefinition } from '../../journeys/journeySchema.js'
import { createJourneyActivities } from '../../workflows/activities/journeyActivities.js'
import { JourneyRuns, runId } from '../../workflows/client/journeyRuns.js'
import { createWorker } from '../../workflows/worker/worker.js'
import { uid, useTestNudge } from '../helpers/harness.js'
import { waitFor } from '../helpers/journeys.js'
import { Registry } from 'prom-client'
import { addJourneyMetrics } from '../../runtime/metrics.js'

/**
 * An activity that fails on its input must end the run at once, with the reason visible — not
 * retry forever. The real journey workflow on the real dev server, through the real worker
 * registration (createWorker); the trait writer is the one dependency made to refuse, as ingest
 * refuses an identify it cannot take (a ValidationError), or to fail for a while (a store hiccup).
 */
describe('a run that cannot proceed ends, visibly, instead of retrying', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error' } })
  const taskQueue = `failures-${process.pid}`
  const attempts = new Map<string, number>()
  let connection: NativeConnection
  let worker: Worker
  let running: Promise<void>

  beforeAll(async () => {
    connection = await NativeConnection.connect({ address: inject('temporalAddress') })
    const activities = createJourneyActivities({
      flags: fx.nudge.flags,
      experiments: fx.nudge.experiments,
      recorder: new JourneyRecorder(fx.nudge.store.client),
      deliverer: undefined as never, // no send step here
      facts: async () => ({ traits: {}, segments: [], computed: {} }),
      defaultTimeZone: 'UTC',
      setTrait: async (userKey, key) => {
        const n = (attempts.get(userKey) ?? 0) + 1
        attempts.set(userKey, n)
        if (key === 'refused')
          throw new ValidationError('Invalid identify event', [{ path: 'traits', rule: 'refused', message: 'refused by the test store' }])
        if (key === 'flaky' && n < 3) throw new Error('store briefly unavailable')
      },
    })
    worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue,
      activities: { storeVersion: async () => 'test', ...activities },
    })
    running = worker.run()
  }, 120_000)

  afterAll(async () => {
    worker?.shutdown()
    await running
    await connection?.close()
  })

  const journey = (id: string, key: string): JourneyDefinition => ({
    id,
    name: id,
    trigger: { type: 'event', event: 'Failure Probe' },
    entry: { consent: 'marketing', reentry: 'always' },
    exit: [],
    priority: 50,
    steps: [
      { id: 'set', type: 'update_trait', key, value: 'x' },
      { id: 'bye', type: 'exit' },
    ],
  })

  async function start(j: JourneyDefinition, userKey: string) {
    const now = Date.now()
    const trigger = { messageId: uid('m'), event: 'Failure Probe', type: 'track', userKey, properties: {}, timestamp: now, receivedAt: now }
    await new JourneyRuns(fx.nudge.temporal, taskQueue).start(j, 1, userKey, trigger, { test: false })
    return fx.nudge.temporal.workflow.getHandle(runId(j.id, userKey))
  }

  it('a validation error in an activity is tried once; the run fails with EndReason and a failed record in the report', async () => {
    const from = Date.now() - 1000
    const j = journey('refuses', 'refused')
    const user = uid('refused')
    const handle = await start(j, user)
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(WorkflowFailedError)
    const failure = (err as WorkflowFailedError).cause
    expect(failure).toBeInstanceOf(ApplicationFailure)
    expect((failure as ApplicationFailure).type).toBe('RunCannotProceed')
    expect(failure!.message).toContain('failed:update_trait:ValidationError')
    expect(attempts.get(user)).toBe(1)

    // Visible where an operator looks: the run's status and EndReason, through the Temporal client…
    const described = await handle.describe()
    expect(described.status.name).toBe('FAILED')
    expect(described.searchAttributes.EndReason).toEqual(['failed:update_trait:ValidationError'])
    const listed = await waitFor(
      async () => {
        const found = []
        for await (const w of fx.nudge.temporal.workflow.list({
          query: `EndReason STARTS_WITH 'failed:' AND WorkflowId = '${handle.workflowId}'`,
        }))
          found.push(w.workflowId)
        return found.length ? found : undefined
      },
      15_000,
      'the run in the visibility store',
    )
    expect(listed).toEqual([handle.workflowId])
    // …and in the store: the run's outcome, the failed step with the error's message, the report.
    const [run] = await waitFor(
      async () => {
        const rows = await selectRows<{ outcome: string }>(
          fx.nudge.store.client,
          "SELECT outcome FROM journey_runs WHERE workflow_id = {w:String} AND phase = 'ended'",
          { w: handle.workflowId },
        )
        return rows.length ? rows : undefined
      },
      10_000,
      'the end record',
    )
    expect(run!.outcome).toBe('failed:update_trait:ValidationError')
    const steps = await selectRows<{ step_id: string; outcome: string; reason: string }>(
      fx.nudge.store.client,
      'SELECT step_id, outcome, reason FROM journey_steps WHERE workflow_id = {w:String}',
      { w: handle.workflowId },
    )
    expect(steps).toEqual([{ step_id: 'set', outcome: 'failed', reason: 'Invalid identify event' }])
    const report = await failedRuns(fx.nudge.store.client, { from, until: Date.now() + 1000 })
    expect(report.counts).toContainEqual({ journeyId: 'refuses', outcome: 'failed:update_trait:ValidationError', runs: 1 })
    expect(report.examples).toContainEqual(
      expect.objectContaining({ journey: 'refuses', workflowId: handle.workflowId, step: 'set', message: 'Invalid identify event' }),
    )
    // The run's later step never ran.
    expect(steps.some((s) => s.step_id === 'bye')).toBe(false)
  })

  it('the trigger router does not retry a start Temporal refuses as invalid (it would forever); the rest of the batch goes on', async () => {
    const probe = (id: string) => ({
      definition: { ...journey(id, 'ok'), trigger: { type: 'event' as const, event: 'Refusal Probe' } },
      status: 'active' as const,
      version: 1,
      updatedAt: 0,
    })
    // A definition the API would never save (journey ids are slugs of ≤ 64): its JourneyId search
    // attribute is over Temporal's 2 KB limit, refused as INVALID_ARGUMENT the same way on every try.
    const refused = probe('r'.repeat(3000))
    const runs = new JourneyRuns(fx.nudge.temporal, `nobody-${process.pid}`) // no worker: runs only start
    const logged: string[] = []
    const router = new TriggerRouter({
      runs,
      journeys: () => [refused, probe('router-fine')],
      runId,
      isGranted: () => true,
      isTestUser: () => false,
      log: (m) => logged.push(m),
    })
    const now = Date.now()
    const ok = uid('fine')
    const event = {
      messageId: uid('m'),
      type: 'track',
      event: 'Refusal Probe',
      userKey: ok,
      properties: {},
      context: {},
      timestamp: now,
      receivedAt: now,
    } as never
    router.handleStored([event], [], 7)
    await router.idle()
    expect(router.rejected).toBe(1)
    // …and Prometheus sees it (a counter that catches up on each scrape, never counting twice).
    const registry = new Registry()
    addJourneyMetrics(registry, { router })
    const scrape = async () => (await registry.getSingleMetric('nudge_journey_routing_rejected_total')!.get()).values[0]?.value
    expect(await scrape()).toBe(1)
    expect(await scrape()).toBe(1)
    expect(router.routedSeq).toBe(7)
    expect(logged.some((m) => m.includes('not retried'))).toBe(true)
    expect((await fx.nudge.temporal.workflow.getHandle(runId('router-fine', ok)).describe()).status.name).toBe('RUNNING')
    await fx.nudge.temporal.workflow.getHandle(runId('router-fine', ok)).terminate('test done')
  })

  it('a transient error is still retried (bounded), and the run completes with its EndReason', async () => {
    const j = journey('flaky', 'flaky')
    const user = uid('flaky')
    const handle = await start(j, user)
    const state = await handle.result()
    expect(state.outcome).toBe('exited')
    expect(attempts.get(user)).toBe(3)
    expect((await handle.describe()).searchAttributes.EndReason).toEqual(['exited'])
  })
})

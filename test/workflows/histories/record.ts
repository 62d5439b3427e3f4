/**
 * Records journey run histories for the replay test (replay.test.ts): runs a fixed set of journeys
 * through the workflow code at <workflows index.ts> (default: this tree's) on a Temporal dev server,
 * with fake activities, and writes each run's history here as JSON. Record with the code that is in
 * production before changing the interpreter; the replay test then proves the new code walks the same
 * histories (same commands in the same order) — what running workflows need after a deploy.
 *
 *   npx tsx test/workflows/histories/record.ts [path/to/workflows/index.ts]
 */
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Client } from '@temporalio/client'
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common'
import proto from '@temporalio/proto'
import { TestWorkflowEnvironment } from '@temporalio/testing'
import { bundleWorkflowCode, Worker } from '@temporalio/worker'
import { journeyDefinition } from '../../../journeys/journeySchema.js'
import type { JourneyEvent } from '../../../journeys/matchEvent.js'
import { ensureTemporalCli } from '../../../runtime/temporal/temporalCli.js'
import { SEARCH_ATTRIBUTES } from '../../../workflows/client/searchAttributes.js'

const HERE = import.meta.dirname
const workflowsPath = resolve(process.argv[2] ?? join(HERE, '..', '..', '..', 'workflows', 'index.ts'))
const taskQueue = 'record-histories'
/**
 * A history as JSON protobufjs reads back (`History.fromObject`): enums by name, 64-bit numbers and
 * bytes as strings. (The SDK's historyToJSON trips over two protobufjs copies in this install.)
 */
function historyText(history: proto.temporal.api.history.v1.IHistory): string {
  const { History } = proto.temporal.api.history.v1
  return JSON.stringify(History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String })) + '\n'
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const event = (userKey: string, e: Partial<JourneyEvent> & { event: string }): JourneyEvent => {
  const now = Date.now()
  return {
    messageId: `${e.event}-${Math.random().toString(36).slice(2)}`,
    type: 'track',
    userKey,
    properties: {},
    timestamp: now,
    receivedAt: now,
    ...e,
  }
}

/** Each scenario: a journey, its user, and what happens to the run while it is open. */
const SCENARIOS: {
  name: string
  journey: unknown
  drive?: (signal: (e: JourneyEvent | { exit: string }) => Promise<void>) => Promise<void>
}[] = [
  {
    // Every step type in one run: an arm with a payload, a flagged delay, a condition, a trait, a heard event, a deferred send.
    name: 'tour',
    journey: {
      id: 'tour',
      name: 'tour',
      trigger: { type: 'event', event: 'Trigger' },
      steps: [
        { id: 'split', type: 'experiment', experiment: 'exp', branches: { a: 'timed' } },
        { id: 'timed', type: 'delay', flag: { key: 'delay-flag', default: '1h' } },
        { id: 'check', type: 'condition', when: [{ trait: { key: 'vip', op: 'eq', value: true } }], else: 'listen' },
        { id: 'mark', type: 'update_trait', key: 'vip-seen', value: true },
        { id: 'listen', type: 'wait', for: { event: 'Bought', match: 'user' }, timeout: '1h', onEvent: 'mail', onTimeout: 'bye' },
        { id: 'mail', type: 'send', template: 'thanks' },
        { id: 'bye', type: 'exit' },
      ],
    },
    drive: async (signal) => {
      await sleep(1500)
      await signal(event('tour-user', { event: 'Bought' }))
    },
  },
  {
    // A long wait (records written first), ended by an exit criterion.
    name: 'exit-criterion',
    journey: {
      id: 'exit-criterion',
      name: 'exit criterion',
      trigger: { type: 'event', event: 'Trigger' },
      exit: [{ type: 'event', event: 'Bought', match: 'user' }],
      steps: [
        { id: 'hold', type: 'delay', duration: '1h' },
        { id: 'never', type: 'send', template: 't' },
      ],
    },
    drive: async (signal) => {
      await sleep(800)
      await signal(event('exit-criterion-user', { event: 'Page Viewed' }))
      await signal(event('exit-criterion-user', { event: 'Bought' }))
    },
  },
  {
    // A timeout, then a holdout arm; a cooldown after.
    name: 'timeout-holdout-cooldown',
    journey: {
      id: 'timeout-holdout-cooldown',
      name: 'timeout holdout cooldown',
      trigger: { type: 'event', event: 'Trigger' },
      entry: { reentry: 'cooldown', cooldown: '2s' },
      steps: [
        { id: 'listen', type: 'wait', for: { event: 'Bought', match: 'user' }, timeout: '300ms' },
        { id: 'split', type: 'experiment', experiment: 'held' },
        { id: 'never', type: 'send', template: 't' },
      ],
    },
  },
  {
    // An exit signal mid-send-defer.
    name: 'exit-signal',
    journey: {
      id: 'exit-signal',
      name: 'exit signal',
      trigger: { type: 'segment_entry', segment: 'seg' },
      steps: [{ id: 'mail', type: 'send', template: 'deferred-long' }],
    },
    drive: async (signal) => {
      await sleep(1000)
      await signal({ exit: 'opt_out:marketing' })
    },
  },
  {
    // An activity refusing its input: the run fails.
    name: 'failure',
    journey: {
      id: 'failure',
      name: 'failure',
      trigger: { type: 'event', event: 'Trigger' },
      steps: [
        { id: 'first', type: 'update_trait', key: 'fine', value: 1 },
        { id: 'bad', type: 'update_trait', key: 'refused', value: 1 },
      ],
    },
  },
  {
    // Many events while waiting: the run continues as new mid-wait (the server suggests it after 120 events).
    name: 'continue-as-new',
    journey: {
      id: 'continue-as-new',
      name: 'continue as new',
      trigger: { type: 'event', event: 'Trigger' },
      steps: [
        { id: 'split', type: 'experiment', experiment: 'exp' },
        { id: 'listen', type: 'wait', for: { event: 'Bought', match: 'user' }, timeout: '6s', onEvent: 'bye', onTimeout: 'bye' },
        { id: 'bye', type: 'exit' },
      ],
    },
    drive: async (signal) => {
      await sleep(500)
      for (let i = 0; i < 130; i++) await signal(event('continue-as-new-user', { event: 'Page Viewed' }))
      await sleep(1000)
      await signal(event('continue-as-new-user', { event: 'Bought' }))
    },
  },
]

let deferred = 0
const activities = {
  async resolveDelay() {
    return { ms: 300, flag: { flag: 'delay-flag', value: 300, reason: 'SPLIT', variant: 'fast', experimentKey: 'timing' } }
  },
  async evaluateCondition() {
    return true
  },
  async assignVariant(a: { experiment: string }) {
    if (a.experiment === 'held') return { variant: 'holdout', holdout: true, payload: {}, reason: 'assigned', inExperiment: true }
    return { variant: 'a', holdout: false, payload: { subject: 'From the arm' }, reason: 'assigned', inExperiment: true }
  },
  async updateTrait(a: { key: string }) {
    if (a.key === 'refused') throw ApplicationFailure.create({ type: 'ValidationError', message: 'refused', nonRetryable: true })
  },
  async record() {},
  async fanOutSchedule() {
    return 0
  },
  async deliver(req: { template: string; last?: boolean }) {
    if (req.template === 'deferred-long') return { status: 'deferred', reason: 'quiet_hours', until: Date.now() + 3_600_000 }
    if (req.template === 'thanks' && deferred++ === 0) return { status: 'deferred', reason: 'cap', until: Date.now() + 300 }
    return { status: 'sent', ended: req.last === true }
  },
}

const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: { type: 'existing-path', path: await ensureTemporalCli() },
    searchAttributes: Object.keys(SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD)),
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=120'],
  },
})
const worker = await Worker.create({
  connection: env.nativeConnection,
  taskQueue,
  workflowBundle: await bundleWorkflowCode({
    workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  }),
  activities,
})
const client: Client = env.client
await worker.runUntil(async () => {
  await Promise.all(
    SCENARIOS.map(async (s) => {
      const journey = journeyDefinition.parse(s.journey)
      const userKey = `${s.name}-user`
      const trigger = event(userKey, { event: 'Trigger' })
      const workflowId = `journey:${s.name}`
      const handle = await client.workflow.signalWithStart('journeyWorkflow', {
        workflowId,
        taskQueue,
        args: [{ journey, version: 1, userKey, trigger, test: false }],
        searchAttributes: { JourneyId: [journey.id], UserId: [userKey], JourneyStep: [journey.steps[0]!.id] },
        signal: 'event',
        signalArgs: [trigger],
      })
      await s.drive?.((e) => ('exit' in e ? handle.signal('exit', { reason: e.exit }) : handle.signal('event', e)))
      await client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => undefined)
      await sleep(1500) // visibility catches up
      // Every run of the id (a continued one has several), oldest first.
      const listed: { runId: string; at: number }[] = []
      for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
        listed.push({ runId: w.runId, at: w.startTime.getTime() })
      const runs = listed.sort((a, b) => a.at - b.at).map((w) => w.runId)
      for (const [i, runId] of runs.entries()) {
        const history = await client.workflow.getHandle(workflowId, runId).fetchHistory()
        const file = join(HERE, `${s.name}${runs.length > 1 ? `.${i + 1}` : ''}.json`)
        writeFileSync(file, historyText(history))
        console.log(`${file}: ${history.events?.length} events`)
      }
    }),
  )
})
await env.teardown()

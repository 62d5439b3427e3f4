import { Context } from '@temporalio/activity'
import type { WorkflowHandle } from '@temporalio/client'
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common'
import { TestWorkflowEnvironment } from '@temporalio/testing'
import type { Worker } from '@temporalio/worker'
import { afterAll, beforeAll } from 'vitest'
import { parseDuration } from '../../core/duration.js'
import type { DeliverResult } from '../../delivery/deliver.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import type { RunRecord, RunRecords, StepRecord } from '../../journeys/journeyRecorder.js'
import { type JourneyDefinition, journeyDefinition, type step } from '../../journeys/journeySchema.js'
import { type JourneyCatalog, validateJourney } from '../../journeys/validateJourney.js'
import type { z } from 'zod'
import type { JourneyEvent } from '../../journeys/matchEvent.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import type { JourneyActivities } from '../../workflows/activities/journeyActivities.js'
import { SEARCH_ATTRIBUTES } from '../../workflows/client/searchAttributes.js'
import type { JourneyInput, JourneyState } from '../../workflows/journey/runContract.js'
import { createWorker } from '../../workflows/worker/worker.js'
import { JourneyRuns, runId } from '../../workflows/client/journeyRuns.js'

/**
 * The journey interpreter on a real Temporal dev server (the CLI this repo builds, started by
 * `@temporalio/testing`), through the production worker registration (createWorker: the cached
 * workflow bundle, the bad-input wrapper), with the activities — where a run meets the world —
 * replaced by fakes per run. What a test sees: the activity calls in order, the records the run
 * wrote, its state, search attributes and memo. Seconds, not a Nudge process.
 */

/** Fakes answer loosely typed: a test may return just what the interpreter reads. */
type Fakes = Partial<{ [K in keyof JourneyActivities]: (input: Parameters<JourneyActivities[K]>[0]) => Promise<unknown> }>

export interface ActivityCall {
  name: string
  input: unknown
  /** When it ran (ms, the test process's clock). */
  at: number
}

export interface FakeRun {
  workflowId: string
  handle: WorkflowHandle
  input: JourneyInput
  /** Every activity the run called, in order (a retried one once per attempt). */
  calls: ActivityCall[]
  /** Every record the run handed to an activity (record, or carried by a send), in order, each once. */
  runs: RunRecord[]
  steps: StepRecord[]
  sends: SendRequest[]
  startedAt: number
  result(): Promise<JourneyState>
  signal(e: Partial<JourneyEvent> & { event: string }): Promise<void>
  exitWith(reason: string): Promise<void>
  state(): Promise<JourneyState>
  /** The run's `Keyword` search attributes (first value each). */
  searchAttributes(): Promise<Record<string, string | undefined>>
  memo(): Promise<Record<string, unknown> | undefined>
}

export interface StartOptions {
  /** Per-run activity behaviour; the rest answer as a quiet world would (see `defaults`). */
  fakes?: Fakes
  userKey?: string
  correlation?: string
  trigger?: Partial<JourneyEvent>
  version?: number
}

export interface Interpreter {
  env: TestWorkflowEnvironment
  start(journey: JourneyDefinition, opts?: StartOptions): Promise<FakeRun>
}

/** The fakes' defaults: fixed delays as written, conditions false, no experiment, every send sent. */
const defaults: JourneyActivities = {
  async resolveDelay({ step }) {
    return { ms: parseDuration(step.duration ?? step.flag?.default ?? 0) ?? 0 }
  },
  async evaluateCondition() {
    return false
  },
  async assignVariant() {
    return { variant: null, holdout: false, payload: {}, reason: 'unknown_experiment', inExperiment: false }
  },
  async updateTrait() {},
  async record() {},
  async fanOutSchedule() {
    return 0
  },
  async deliver(): Promise<DeliverResult> {
    return { status: 'sent' }
  },
}

let counter = 0
export const uid = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Date.now().toString(36)}`

export function event(e: Partial<JourneyEvent> & { event?: string } = {}, userKey = 'u1'): JourneyEvent {
  const now = Date.now()
  return { messageId: uid('m'), event: 'Trigger', type: 'track', userKey, properties: {}, timestamp: now, receivedAt: now, ...e }
}

/** Every experiment the journey names exists, with the variants its branches name. */
const branchKeys = (j: JourneyDefinition) => () => j.steps.flatMap((s) => (s.type === 'experiment' ? Object.keys(s.branches) : []))

/**
 * A journey definition as the API would store it: through the schema (defaults filled in, bad
 * shapes refused) and the reference checks, so a test never drives the interpreter with a
 * definition Nudge would not accept.
 */
export function journey(steps: z.input<typeof step>[], extra: Partial<z.input<typeof journeyDefinition>> = {}): JourneyDefinition {
  const j = journeyDefinition.parse({
    id: uid('j').toLowerCase(),
    name: 'interpreter test',
    trigger: { type: 'event', event: 'Trigger' },
    steps,
    ...extra,
  })
  const permissive: JourneyCatalog = {
    hasTemplate: () => true,
    flagType: () => 'number',
    hasSegment: () => true,
    variantsOf: branchKeys(j),
  }
  const broken = validateJourney(j, permissive).filter((i) => i.rule === 'reference' || i.rule === 'unique')
  if (broken.length) throw new Error(`not a valid journey: ${JSON.stringify(broken)}`)
  return j
}

/** One dev server and one worker per test file (vitest hooks); each run gets its own fakes. */
export function useInterpreter(opts: { suggestContinueAsNewAfter?: number } = {}): Interpreter {
  const taskQueue = uid('interpreter')
  const perRun = new Map<string, { fakes: Fakes; run: FakeRun; stored: Set<string> }>()
  let worker: Worker | undefined
  let running: Promise<void> | undefined
  const it = {} as Interpreter

  // Each activity finds the run that called it (by workflow id), logs the call, then answers.
  const activities = Object.fromEntries(
    (Object.keys(defaults) as (keyof JourneyActivities)[]).map((name) => [
      name,
      async (input: never) => {
        const entry = perRun.get(Context.current().info.workflowExecution?.workflowId ?? '')
        if (!entry) throw new Error('an activity of an unknown run')
        entry.run.calls.push({ name, input, at: Date.now() })
        const fn = (entry.fakes[name] ?? defaults[name]) as (i: never) => Promise<unknown>
        const out = await fn(input)
        // Stored only when the activity succeeded: a failed one's records come again later.
        const carried = name === 'record' ? (input as RunRecords) : name === 'deliver' ? (input as SendRequest).records : undefined
        // Stored once, as the recorder does: a local activity runs again when its workflow task is
        // retried (e.g. signals arrived as the run continued as new), handing the same records.
        const fresh = <T>(r: T) => !entry.stored.has(JSON.stringify(r)) && entry.stored.add(JSON.stringify(r))
        if (carried) {
          entry.run.runs.push(...carried.runs.filter(fresh))
          entry.run.steps.push(...carried.steps.filter(fresh))
        }
        if (name === 'deliver') entry.run.sends.push(input as SendRequest)
        return out
      },
    ]),
  ) as unknown as JourneyActivities

  beforeAll(async () => {
    const path = await ensureTemporalCli()
    it.env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path },
        searchAttributes: Object.keys(SEARCH_ATTRIBUTES).map((name) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD)),
        log: { format: 'pretty', level: 'error' },
        // Production suggests continue-as-new after thousands of history events; a test can make it soon.
        extraArgs: opts.suggestContinueAsNewAfter
          ? ['--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${opts.suggestContinueAsNewAfter}`]
          : [],
      },
    })
    worker = await createWorker({
      connection: it.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      activities: { storeVersion: async () => 'fake', ...activities },
    })
    running = worker.run()
  }, 120_000)

  afterAll(async () => {
    worker?.shutdown()
    await running
    await it.env?.teardown()
  })

  it.start = async (j, opts = {}) => {
    const userKey = opts.userKey ?? 'u1'
    const trigger = event({ event: 'Trigger', ...opts.trigger }, userKey)
    const input: JourneyInput = {
      journey: j,
      version: opts.version ?? 1,
      userKey,
      ...(opts.correlation !== undefined ? { correlation: opts.correlation } : {}),
      trigger,
      test: false,
    }
    const workflowId = runId(j.id, userKey, opts.correlation)
    const run = { workflowId, input, calls: [], runs: [], steps: [], sends: [], startedAt: Date.now() } as unknown as FakeRun
    perRun.set(workflowId, { fakes: opts.fakes ?? {}, run, stored: new Set() })
    // As the trigger router starts a run (signal-with-start; the trigger is the first `event` signal).
    await new JourneyRuns(it.env.client, taskQueue).start(j, input.version, userKey, trigger, {
      correlation: opts.correlation,
      test: false,
    })
    run.handle = it.env.client.workflow.getHandle(workflowId)
    run.result = () => run.handle.result() as Promise<JourneyState>
    run.signal = (e) => run.handle.signal('event', event(e, userKey))
    run.exitWith = (reason) => run.handle.signal('exit', { reason })
    run.state = () => run.handle.query<JourneyState>('state')
    run.searchAttributes = async () => {
      const d = await run.handle.describe()
      return Object.fromEntries(Object.entries(d.searchAttributes ?? {}).map(([k, v]) => [k, (v as unknown[] | undefined)?.[0] as string]))
    }
    run.memo = async () => (await run.handle.describe()).memo
    return run
  }
  return it
}

/** The outcomes of a run's step records, in order: `stepId:outcome`. */
export function path(run: FakeRun): string[] {
  return run.steps.map((s) => `${s.stepId}:${s.outcome}`)
}

/** The names of the activities a run called, in order. */
export function callNames(run: FakeRun): string[] {
  return run.calls.map((c) => c.name)
}

/** Polls `fn` until it returns something truthy. */
export async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 25))
  }
}

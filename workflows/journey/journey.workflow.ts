import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyLocalActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow'
import { cutUtf8 } from '../../core/textBounds.js'
import { parseDuration } from '../../core/duration.js'
import type { RunRecords } from '../../journeys/journeyRecorder.js'
import type { JourneyDefinition, JourneyStep } from '../../journeys/journeySchema.js'
import { type JourneyEvent, matchesRunEvent } from '../../journeys/matchEvent.js'
import { triggerCondition } from '../../journeys/triggerCondition.js'
import type { FlagUse, JourneyActivities } from '../activities/journeyActivities.js'
import { showFlagUse } from './flaggedDelay.workflow.js'
import { RETRY_POLICIES } from '../retryPolicies.js'

/**
 * The journey interpreter: one run per (journey, user[, correlation value]). Deterministic — every
 * lookup, flag, assignment, clock-dependent decision and send is an activity whose result lands in
 * the history — so a replay after a crash walks the same path and waits the same times.
 *
 * Events reach a run as `event` signals (the trigger itself first: `signalWithStart`); an exit
 * criterion matched, an opt-out, or leaving a segment ends it at once, and the send activity
 * re-checks all of them against the store right before it hands a message to the transport.
 */
export interface JourneyInput {
  journey: JourneyDefinition
  version: number
  userKey: string
  correlation?: string
  trigger: JourneyEvent
  /** A test account: the run is real, delivery goes to the capture mailbox, analytics leave it out. */
  test: boolean
  /** Set when the run continues as new: where it was. */
  resume?: Resume
}

interface Resume {
  stepId: string
  received: JourneyEvent[]
  seen: string[]
  payload: Record<string, unknown>
  experimentKey?: string
  variant?: string
  flags: Record<string, FlagUse>
  sends: number
  /** The delay or wait being resumed ends at this time (ms), as it would have in the old run. */
  waitUntil?: number
  /** Events a wait step already went on with (`step\u0000messageId`). */
  consumed?: string[]
}

export interface JourneyState {
  journeyId: string
  version: number
  userKey: string
  correlation?: string
  step: string
  status: 'running' | 'waiting' | 'sending' | 'cooldown' | 'ended'
  /** Until when the current step waits (ms), if it does. */
  until?: number
  outcome?: string
  experimentKey?: string
  variant?: string
  flags: Record<string, FlagUse>
  sends: number
  eventsSeen: number
}

export const eventSignal = defineSignal<[JourneyEvent]>('event')
export const exitSignal = defineSignal<[{ reason: string }]>('exit')
export const stateQuery = defineQuery<JourneyState>('state')

// Every activity retries a bounded number of times and never on bad input (retryPolicies.ts);
// one that still fails ends the run `failed:<step type>:<error type>` (see the end of the run).
const local = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '30 seconds', retry: RETRY_POLICIES.step })
// A send is a local activity too: it takes milliseconds, and skipping the activity task queue
// halves the server's work per send. After a crash it runs again (the ledger keeps it once).
const { deliver } = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '15 seconds', retry: RETRY_POLICIES.send })

/** The `EndReason` search attribute's bound (Temporal's SQL visibility keeps Keywords in VARCHAR(255)). */
const END_REASON_BYTES = 255
/** How much of a failure's message the run's step record keeps. */
const FAILURE_MESSAGE_BYTES = 1000

const MAX_KEPT_EVENTS = 200
/** Records wait in the run until its next activity; a wait this long writes them first. */
const FLUSH_BEFORE_WAIT_MS = 5_000

export async function journeyWorkflow(input: JourneyInput): Promise<JourneyState> {
  const { journey, userKey, correlation, trigger } = input
  const sendCondition = triggerCondition(journey.trigger)
  const steps = journey.steps
  const run = { userKey, correlationKey: journey.entry.correlationKey, correlation }
  const r = input.resume
  const seen = new Set<string>(r?.seen ?? [trigger.messageId])
  const received: JourneyEvent[] = r?.received ?? []
  // A wait step goes on with an event once: visited again (a loop), it waits for a new one.
  const consumed = new Set<string>(r?.consumed ?? [])
  let exitReason: string | undefined
  let payload: Record<string, unknown> = r?.payload ?? {}
  const state: JourneyState = {
    journeyId: journey.id,
    version: input.version,
    userKey,
    ...(correlation !== undefined ? { correlation } : {}),
    step: r?.stepId ?? steps[0]!.id,
    status: 'running',
    flags: r?.flags ?? {},
    sends: r?.sends ?? 0,
    eventsSeen: seen.size,
    ...(r?.experimentKey ? { experimentKey: r.experimentKey, variant: r.variant } : {}),
  }

  setHandler(eventSignal, (e) => {
    if (seen.has(e.messageId)) return // a duplicate trigger or a replayed delivery
    seen.add(e.messageId)
    state.eventsSeen = seen.size
    for (const x of journey.exit) if (x.type === 'event' && matchesRunEvent(x, e, run)) exitReason ??= `exit:${x.event}`
    received.push(e)
    if (received.length > MAX_KEPT_EVENTS) received.shift()
  })
  setHandler(exitSignal, ({ reason }) => void (exitReason ??= reason))
  setHandler(stateQuery, () => state)

  const base = { workflowId: workflowInfo().workflowId, journeyId: journey.id, journeyVersion: input.version, userKey, test: input.test }
  // What the run did, buffered and written with its next activity (a send carries them), or
  // before a long wait: each step costs no extra round trip through the server.
  let records: RunRecords = { runs: [], steps: [] }
  const take = (): RunRecords | undefined => {
    if (!records.runs.length && !records.steps.length) return undefined
    const out = records
    records = { runs: [], steps: [] }
    return out
  }
  const flush = async () => {
    const r = take()
    if (r) await local.record(r)
  }
  const step = (s: JourneyStep, outcome: string, extra: { reason?: string; scheduledAt?: number; messageId?: string } = {}) =>
    void records.steps.push({
      ...base,
      stepId: s.id,
      stepType: s.type,
      outcome,
      experimentKey: state.experimentKey,
      variant: state.variant,
      flags: state.flags,
      at: Date.now(),
      ...extra,
    })
  /** The run has ended: its state says so, and `EndReason` shows why (operators filter by it). */
  const end = (why: string) => {
    state.outcome = why
    state.status = 'ended'
    state.until = undefined
    // Patched: a run that ended before this existed (sitting out its cooldown) replays without it.
    if (patched('end-reason')) upsertSearchAttributes({ EndReason: [cutUtf8(why, END_REASON_BYTES)] })
  }
  let shownStep = steps[0]!.id // set at start by the router
  const show = (id: string) => {
    if (id !== shownStep) upsertSearchAttributes({ JourneyStep: [(shownStep = id)] })
  }
  const suggested = () => workflowInfo().continueAsNewSuggested
  /** Where the run stands, for a fresh history (continue-as-new). */
  const resumeAt = (stepId: string, waitUntil?: number): Resume => ({
    stepId,
    received,
    seen: [...seen].slice(-1000),
    payload,
    experimentKey: state.experimentKey,
    variant: state.variant,
    flags: state.flags,
    sends: state.sends,
    ...(waitUntil !== undefined ? { waitUntil } : {}),
    ...(consumed.size ? { consumed: [...consumed].slice(-1000) } : {}),
  })
  const continueFrom = async (stepId: string, waitUntil?: number): Promise<never> => {
    await flush()
    return continueAsNew<typeof journeyWorkflow>({ ...input, resume: resumeAt(stepId, waitUntil) })
  }
  // A resumed delay or wait keeps its original end.
  let resumedUntil = r?.waitUntil
  const takeResumed = (): number | undefined => {
    const u = resumedUntil
    resumedUntil = undefined
    return u === undefined ? undefined : Math.max(0, u - Date.now())
  }
  /**
   * Waits `ms` unless the run is told to exit first (true then). A run whose history has grown
   * long (many events while it waits) continues as new mid-wait, keeping the wait's end.
   */
  const pause = async (ms: number, stepId: string) => {
    if (ms >= FLUSH_BEFORE_WAIT_MS) await flush()
    const until = Date.now() + ms
    state.until = until
    await condition(() => exitReason !== undefined || suggested(), ms)
    state.until = undefined
    if (exitReason === undefined && suggested() && Date.now() < until) await continueFrom(stepId, until)
    return exitReason !== undefined
  }

  // Started when Temporal recorded the start (not when this first task ran): the server's time.
  if (!r)
    records.runs.push({ ...base, phase: 'started', correlation: correlation ?? '', trigger, at: workflowInfo().runStartTime.getTime() })

  let endRecorded = false
  let i: number | undefined = steps.findIndex((s) => s.id === state.step)
  let outcome = 'completed'
  let current: JourneyStep = steps[Math.max(0, i)]!
  /**
   * An activity failed for good — bad input (non-retryable at once) or still failing after its
   * bounded retries. The run cannot proceed: it ends here, visibly, and fails. Failed rather than
   * completed: a run that could not do its job shows as failed in Temporal (its list, metrics and
   * alerts), with the reason in `EndReason`, the run's outcome (`journey_runs`) and a `failed` step
   * (`journey_steps`, in the false-trigger report). Non-retryable: never run again on the same value.
   */
  const cannotProceed = async (err: unknown): Promise<never> => {
    // A local activity's failure reaches the workflow as itself (an activity's, wrapped in an
    // ActivityFailure); anything else (cancellation, continue-as-new) is not ours to handle.
    const cause =
      err instanceof ActivityFailure
        ? (err.cause ?? err)
        : err instanceof ApplicationFailure || err instanceof TimeoutFailure
          ? err
          : undefined
    if (!cause) throw err
    const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : cause instanceof TimeoutFailure ? 'Timeout' : cause.name
    const message = cutUtf8(cause.message || type, FAILURE_MESSAGE_BYTES)
    outcome = `failed:${current.type}:${type}`
    end(outcome)
    step(current, 'failed', { reason: message })
    if (!endRecorded) records.runs.push({ ...base, phase: 'ended', correlation: correlation ?? '', trigger, outcome, at: Date.now() })
    // Best effort: the store may be what failed; the search attribute and the failure still tell.
    await flush().catch(() => undefined)
    throw ApplicationFailure.create({
      type: 'RunCannotProceed',
      message: `journey ${journey.id} run stopped at step ${current.id}: ${outcome}: ${message}`,
      nonRetryable: true,
      cause,
    })
  }
  try {
    while (i !== undefined && i >= 0 && i < steps.length) {
      if (exitReason) break
      const s: JourneyStep = steps[i]!
      current = s
      state.step = s.id
      state.status = 'running'
      // Only where a run can sit (an operator filters by it); instant steps would cost a visibility write each.
      if (s.type === 'delay' || s.type === 'wait' || s.type === 'send') show(s.id)
      const fallthrough: string | undefined = i + 1 < steps.length ? steps[i + 1]!.id : undefined
      let to: string | undefined = 'next' in s ? (s.next ?? fallthrough) : fallthrough

      if (s.type === 'delay') {
        // A fixed wait is known here; a flag or a local-time window is asked of an activity.
        const left = takeResumed()
        const d: { ms: number; flag?: FlagUse } =
          left !== undefined
            ? { ms: left }
            : s.flag || s.until
              ? await local.resolveDelay({ step: s, userKey })
              : { ms: parseDuration(s.duration) ?? 0 }
        if (d.flag) {
          state.flags = showFlagUse(state.flags, d.flag)
          if (d.flag.experimentKey && d.flag.variant) {
            state.experimentKey ??= d.flag.experimentKey
            state.variant ??= d.flag.variant
          }
        }
        state.status = 'waiting'
        const scheduledAt = Date.now() + d.ms
        if (await pause(d.ms, s.id)) break
        await step(s, 'waited', { scheduledAt, reason: d.flag ? `${d.flag.flag}=${d.flag.value}ms (${d.flag.reason})` : undefined })
      } else if (s.type === 'wait') {
        state.status = 'waiting'
        const timeout = takeResumed() ?? parseDuration(s.timeout) ?? 0
        const scheduledAt = Date.now() + timeout
        if (timeout >= FLUSH_BEFORE_WAIT_MS) await flush()
        state.until = scheduledAt
        const match = () => received.find((e) => !consumed.has(`${s.id}\u0000${e.messageId}`) && matchesRunEvent(s.for, e, run))
        const hit = () => match() !== undefined
        const got = await condition(() => exitReason !== undefined || hit() || suggested(), timeout)
        state.until = undefined
        if (exitReason) break
        if (!hit() && suggested() && Date.now() < scheduledAt) await continueFrom(s.id, scheduledAt)
        const matched = got ? match() : undefined
        if (matched) consumed.add(`${s.id}\u0000${matched.messageId}`)
        await step(s, matched ? 'event' : 'timeout', { scheduledAt })
        to = matched ? (s.onEvent ?? fallthrough) : (s.onTimeout ?? fallthrough)
      } else if (s.type === 'condition') {
        const holds = await local.evaluateCondition({ tests: s.when, userKey, trigger })
        await step(s, holds ? 'then' : 'else')
        to = holds ? (s.then ?? fallthrough) : (s.else ?? fallthrough)
      } else if (s.type === 'experiment') {
        const a = await local.assignVariant({ experiment: s.experiment, userKey, context: { journey: journey.id, step: s.id } })
        if (a.variant) {
          state.experimentKey = s.experiment
          state.variant = a.variant
          payload = { ...payload, ...a.payload }
          upsertSearchAttributes({ ExperimentKey: [s.experiment], Variant: [a.variant] })
        }
        if (a.holdout) {
          await step(s, 'holdout', { reason: a.reason })
          outcome = 'holdout'
          break
        }
        await step(s, a.variant ? 'assigned' : 'not_in_experiment', { reason: a.reason })
        if (a.variant && s.branches[a.variant]) to = s.branches[a.variant]
      } else if (s.type === 'send') {
        // Continued as new while deferred (quiet hours, cap): finish that wait first.
        const deferredLeft = takeResumed()
        if (deferredLeft !== undefined && (await pause(deferredLeft, s.id))) break
        const messageId = uuid4()
        const scheduledAt = Date.now()
        state.status = 'sending'
        for (;;) {
          if (exitReason) break
          const carried = take()
          const res = await deliver({
            ...base,
            messageId,
            stepId: s.id,
            correlationKey: journey.entry.correlationKey,
            correlation,
            trigger,
            template: typeof payload.template === 'string' ? payload.template : s.template,
            subject: typeof payload.subject === 'string' ? payload.subject : s.subject,
            topic: s.topic ?? journey.entry.consent,
            priority: journey.priority,
            exit: journey.exit,
            ...(sendCondition ? { condition: sendCondition } : {}),
            experimentKey: state.experimentKey,
            variant: state.variant,
            flags: state.flags,
            scheduledAt,
            records: carried,
            // The last step: the send also records how the run ended (one round trip fewer).
            ...(to === undefined ? { last: true } : {}),
          }).catch((err: unknown) => {
            // The records it carried are not stored: keep them for the run's end.
            if (carried) records = { runs: [...carried.runs, ...records.runs], steps: [...carried.steps, ...records.steps] }
            throw err
          })
          if (res.status === 'deferred') {
            state.status = 'waiting'
            if (await pause(Math.max(0, res.until! - Date.now()), s.id)) break
            continue
          }
          if (res.status === 'sent') state.sends++
          if (res.status === 'skipped' && res.exit) exitReason ??= res.reason
          if (res.ended) endRecorded = true
          break
        }
        if (exitReason) break
      } else if (s.type === 'update_trait') {
        await local.updateTrait({ userKey, key: s.key, value: s.value, messageId: `${base.workflowId}:${s.id}:${uuid4()}` })
        await step(s, 'updated')
      } else if (s.type === 'exit') {
        await step(s, 'exit')
        outcome = 'exited'
        break
      }

      i = to === undefined ? undefined : steps.findIndex((x) => x.id === to)
      // A long-lived run (many steps, many events) starts a fresh history where it stands.
      if (i !== undefined && suggested()) await continueFrom(steps[i]!.id)
    }
  } catch (err) {
    await cannotProceed(err)
  }
  if (exitReason) outcome = exitReason
  end(outcome)
  if (!endRecorded) {
    records.runs.push({ ...base, phase: 'ended', correlation: correlation ?? '', trigger, outcome, at: Date.now() })
    await flush().catch(cannotProceed)
  }
  if (journey.entry.reentry === 'cooldown' && journey.entry.cooldown !== undefined) {
    // The run stays open, ignoring triggers, until the cooldown since it started has passed: the
    // same workflow id cannot start again before then (measured from when the trigger arrived), in any process.
    state.status = 'cooldown'
    const cooldown = parseDuration(journey.entry.cooldown) ?? 0
    const left = trigger.receivedAt + cooldown - Date.now()
    if (left > 0) await sleep(left)
    state.status = 'ended'
  }
  return state
}

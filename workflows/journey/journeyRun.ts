import { condition, continueAsNew, patched, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow'
import { cutUtf8 } from '../../core/textBounds.js'
import type { RunRecords, StepRecord } from '../../journeys/journeyRecorder.js'
import type { JourneyDefinition, JourneyStep } from '../../journeys/journeySchema.js'
import { type JourneyEvent, matchesRunEvent } from '../../journeys/matchEvent.js'
import { type SegmentCondition, triggerCondition } from '../../journeys/triggerCondition.js'
import { local } from './activityProxies.js'
import { eventSignal, exitSignal, type JourneyInput, type JourneyState, type Resume, stateQuery } from './runContract.js'

/** The `EndReason` search attribute's bound (Temporal's SQL visibility keeps Keywords in VARCHAR(255)). */
const END_REASON_BYTES = 255
const MAX_KEPT_EVENTS = 200
/** Records wait in the run until its next activity; a wait this long writes them first. */
export const FLUSH_BEFORE_WAIT_MS = 5_000

/** What every record of the run carries. */
export interface RunBase {
  workflowId: string
  journeyId: string
  journeyVersion: number
  userKey: string
  test: boolean
}

type StepExtra = Pick<StepRecord, 'reason' | 'scheduledAt' | 'messageId'>

/**
 * One journey run's memory and the moves every step makes with it: the events it received, its
 * state (what the `state` query answers), the records it buffers, waiting (cut short by an exit),
 * continuing as new, ending. Workflow code: everything here is deterministic.
 */
export class JourneyRun {
  readonly journey: JourneyDefinition
  readonly state: JourneyState
  readonly base: RunBase
  /** How events are matched to this run (its user, its correlation value). */
  readonly match: { userKey: string; correlationKey?: string; correlation?: string }
  /** The trigger's segment condition, re-checked before each send. */
  readonly sendCondition: SegmentCondition | undefined
  readonly received: JourneyEvent[]
  /** A wait step goes on with an event once: visited again (a loop), it waits for a new one. */
  readonly consumed: Set<string>
  payload: Record<string, unknown>
  exitReason: string | undefined
  outcome = 'completed'
  /** A send recorded the run's end with itself (its last step). */
  endRecorded = false
  current: JourneyStep
  private readonly seen: Set<string>
  private records: RunRecords = { runs: [], steps: [] }
  private shownStep: string
  private resumedUntil: number | undefined

  constructor(readonly input: JourneyInput) {
    const { journey, userKey, correlation, trigger } = input
    const r = input.resume
    this.journey = journey
    this.match = { userKey, correlationKey: journey.entry.correlationKey, correlation }
    this.sendCondition = triggerCondition(journey.trigger)
    this.seen = new Set<string>(r?.seen ?? [trigger.messageId])
    this.received = r?.received ?? []
    this.consumed = new Set<string>(r?.consumed ?? [])
    this.payload = r?.payload ?? {}
    this.resumedUntil = r?.waitUntil
    this.state = {
      journeyId: journey.id,
      version: input.version,
      userKey,
      ...(correlation !== undefined ? { correlation } : {}),
      step: r?.stepId ?? journey.steps[0]!.id,
      status: 'running',
      flags: r?.flags ?? {},
      sends: r?.sends ?? 0,
      eventsSeen: this.seen.size,
      ...(r?.experimentKey ? { experimentKey: r.experimentKey, variant: r.variant } : {}),
    }
    this.shownStep = journey.steps[0]!.id // set at start by the router
    this.base = { workflowId: workflowInfo().workflowId, journeyId: journey.id, journeyVersion: input.version, userKey, test: input.test }
    this.current = journey.steps[0]!
  }

  /** Events reach a run as `event` signals (the trigger itself first: `signalWithStart`). */
  listen(): void {
    setHandler(eventSignal, (e) => this.receive(e))
    setHandler(exitSignal, ({ reason }) => void (this.exitReason ??= reason))
    setHandler(stateQuery, () => this.state)
  }

  private receive(e: JourneyEvent): void {
    if (this.seen.has(e.messageId)) return // a duplicate trigger or a replayed delivery
    this.seen.add(e.messageId)
    this.state.eventsSeen = this.seen.size
    for (const x of this.journey.exit) if (x.type === 'event' && matchesRunEvent(x, e, this.match)) this.exitReason ??= `exit:${x.event}`
    this.received.push(e)
    if (this.received.length > MAX_KEPT_EVENTS) this.received.shift()
  }

  /** The run's start or end, buffered with its steps. */
  recordPhase(phase: 'started' | 'ended', at: number): void {
    const { correlation, trigger } = this.input
    this.records.runs.push({
      ...this.base,
      phase,
      correlation: correlation ?? '',
      trigger,
      ...(phase === 'ended' ? { outcome: this.outcome } : {}),
      at,
    })
  }

  /** What a step did, buffered: written with the run's next activity (a send carries them) or before a long wait. */
  recordStep(s: JourneyStep, outcome: string, extra: StepExtra = {}): void {
    this.records.steps.push({
      ...this.base,
      stepId: s.id,
      stepType: s.type,
      outcome,
      experimentKey: this.state.experimentKey,
      variant: this.state.variant,
      flags: this.state.flags,
      at: Date.now(),
      ...extra,
    })
  }

  /** The buffered records, handed to an activity that writes them. */
  take(): RunRecords | undefined {
    if (!this.records.runs.length && !this.records.steps.length) return undefined
    const out = this.records
    this.records = { runs: [], steps: [] }
    return out
  }

  /** Records an activity took but did not store: first in line again. */
  putBack(carried: RunRecords): void {
    this.records = { runs: [...carried.runs, ...this.records.runs], steps: [...carried.steps, ...this.records.steps] }
  }

  async flush(): Promise<void> {
    const r = this.take()
    if (r) await local.record(r)
  }

  /** The run has ended: its state says so, and `EndReason` shows why (operators filter by it). */
  end(why: string): void {
    this.state.outcome = why
    this.state.status = 'ended'
    this.state.until = undefined
    // Patched: a run that ended before this existed (sitting out its cooldown) replays without it.
    if (patched('end-reason')) upsertSearchAttributes({ EndReason: [cutUtf8(why, END_REASON_BYTES)] })
  }

  /** Shows the step the run sits at as the `JourneyStep` search attribute (when it changed). */
  show(id: string): void {
    if (id !== this.shownStep) upsertSearchAttributes({ JourneyStep: [(this.shownStep = id)] })
  }

  suggested(): boolean {
    return workflowInfo().continueAsNewSuggested
  }

  /** Continues as new (a fresh history) at `stepId`, keeping a wait's end. */
  async continueFrom(stepId: string, waitUntil?: number): Promise<never> {
    await this.flush()
    return continueAsNew<(input: JourneyInput) => Promise<JourneyState>>({ ...this.input, resume: this.resumeAt(stepId, waitUntil) })
  }

  /** Where the run stands, for a fresh history (continue-as-new). */
  private resumeAt(stepId: string, waitUntil?: number): Resume {
    return {
      stepId,
      received: this.received,
      seen: [...this.seen].slice(-1000),
      payload: this.payload,
      experimentKey: this.state.experimentKey,
      variant: this.state.variant,
      flags: this.state.flags,
      sends: this.state.sends,
      ...(waitUntil !== undefined ? { waitUntil } : {}),
      ...(this.consumed.size ? { consumed: [...this.consumed].slice(-1000) } : {}),
    }
  }

  /** A resumed delay or wait keeps its original end: the time left of it, once. */
  takeResumed(): number | undefined {
    const u = this.resumedUntil
    this.resumedUntil = undefined
    return u === undefined ? undefined : Math.max(0, u - Date.now())
  }

  /**
   * Waits `ms` unless the run is told to exit first (true then). A run whose history has grown
   * long (many events while it waits) continues as new mid-wait, keeping the wait's end.
   */
  async pause(ms: number, stepId: string): Promise<boolean> {
    // The state shows the wait's end from the moment the run is `waiting` (a query can come during
    // the flush); the timer itself starts after the flush, as it always has (replay keeps the same commands).
    this.state.until = Date.now() + ms
    if (ms >= FLUSH_BEFORE_WAIT_MS) await this.flush()
    const until = Date.now() + ms
    this.state.until = until
    await condition(() => this.exitReason !== undefined || this.suggested(), ms)
    this.state.until = undefined
    if (this.exitReason === undefined && this.suggested() && Date.now() < until) await this.continueFrom(stepId, until)
    return this.exitReason !== undefined
  }
}

import { sleep, workflowInfo } from '@temporalio/workflow'
import { parseDuration } from '../../core/duration.js'
import { cannotProceed } from './cannotProceed.js'
import { JourneyRun } from './journeyRun.js'
import type { JourneyInput, JourneyState } from './runContract.js'
import { stepHandler } from './steps/index.js'

/**
 * The journey interpreter: one run per (journey, user[, correlation value]). Deterministic — every
 * lookup, flag, assignment, clock-dependent decision and send is an activity whose result lands in
 * the history — so a replay after a crash walks the same path and waits the same times.
 *
 * Events reach a run as `event` signals (the trigger itself first: `signalWithStart`); an exit
 * criterion matched, an opt-out, or leaving a segment ends it at once, and the send activity
 * re-checks all of them against the store right before it hands a message to the transport.
 * Each step type is interpreted in its own file (steps/).
 */
export async function journeyWorkflow(input: JourneyInput): Promise<JourneyState> {
  const run = new JourneyRun(input)
  run.listen()
  // Started when Temporal recorded the start (not when this first task ran): the server's time.
  if (!input.resume) run.recordPhase('started', workflowInfo().runStartTime.getTime())
  try {
    await walk(run)
  } catch (err) {
    await cannotProceed(run, err)
  }
  if (run.exitReason) run.outcome = run.exitReason
  run.end(run.outcome)
  if (!run.endRecorded) {
    run.recordPhase('ended', Date.now())
    await run.flush().catch((err: unknown) => cannotProceed(run, err))
  }
  await coolDown(run)
  return run.state
}

/** Steps from where the run stands until a step goes nowhere, one stops the run, or the run is told to exit. */
async function walk(run: JourneyRun): Promise<void> {
  const steps = run.journey.steps
  let i: number | undefined = steps.findIndex((s) => s.id === run.state.step)
  run.current = steps[Math.max(0, i)]!
  while (i !== undefined && i >= 0 && i < steps.length) {
    if (run.exitReason) return
    const s = steps[i]!
    run.current = s
    run.state.step = s.id
    run.state.status = 'running'
    const handler = stepHandler(s)
    // Only where a run can sit (an operator filters by it).
    if (handler.parks) run.show(s.id)
    const fallthrough = i + 1 < steps.length ? steps[i + 1]!.id : undefined
    const to = 'next' in s ? (s.next ?? fallthrough) : fallthrough
    const result = await handler.run(run, s, { to, fallthrough })
    if ('stop' in result) {
      if (result.outcome) run.outcome = result.outcome
      return
    }
    i = result.to === undefined ? undefined : steps.findIndex((x) => x.id === result.to)
    // A long-lived run (many steps, many events) starts a fresh history where it stands.
    if (i !== undefined && run.suggested()) await run.continueFrom(steps[i]!.id)
  }
}

/**
 * With a cooldown, the run stays open, ignoring triggers, until the cooldown since it started has
 * passed: the same workflow id cannot start again before then (measured from when the trigger
 * arrived), in any process.
 */
async function coolDown(run: JourneyRun): Promise<void> {
  const { entry } = run.journey
  if (entry.reentry !== 'cooldown' || entry.cooldown === undefined) return
  run.state.status = 'cooldown'
  const cooldown = parseDuration(entry.cooldown) ?? 0
  const left = run.input.trigger.receivedAt + cooldown - Date.now()
  if (left > 0) await sleep(left)
  run.state.status = 'ended'
}

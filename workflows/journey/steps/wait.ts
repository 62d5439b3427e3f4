import { condition } from '@temporalio/workflow'
import { parseDuration } from '../../../core/duration.js'
import { matchesRunEvent } from '../../../journeys/matchEvent.js'
import { FLUSH_BEFORE_WAIT_MS } from '../journeyRun.js'
import { STOP, type StepHandler, type StepOf } from './stepHandler.js'

/**
 * Waits for an event (by the run's correlation value or the user) until a timeout, then goes on
 * to `onEvent` or `onTimeout`. An event already received before the step counts; each event moves
 * a given wait step once.
 */
export const waitStep: StepHandler<StepOf<'wait'>> = {
  parks: true,
  async run(run, s, { fallthrough }) {
    run.state.status = 'waiting'
    const timeout = run.takeResumed() ?? parseDuration(s.timeout) ?? 0
    const scheduledAt = Date.now() + timeout
    run.state.until = scheduledAt // before the flush: a query during it sees a waiting run with its end
    if (timeout >= FLUSH_BEFORE_WAIT_MS) await run.flush()
    const key = (messageId: string) => `${s.id}\u0000${messageId}`
    const match = () => run.received.find((e) => !run.consumed.has(key(e.messageId)) && matchesRunEvent(s.for, e, run.match))
    const hit = () => match() !== undefined
    const got = await condition(() => run.exitReason !== undefined || hit() || run.suggested(), timeout)
    run.state.until = undefined
    if (run.exitReason) return STOP
    if (!hit() && run.suggested() && Date.now() < scheduledAt) await run.continueFrom(s.id, scheduledAt)
    const matched = got ? match() : undefined
    if (matched) run.consumed.add(key(matched.messageId))
    run.recordStep(s, matched ? 'event' : 'timeout', { scheduledAt })
    return { to: matched ? (s.onEvent ?? fallthrough) : (s.onTimeout ?? fallthrough) }
  },
}

import { uuid4 } from '@temporalio/workflow'
import type { DeliverResult } from '../../../delivery/deliver.js'
import type { SendRequest } from '../../../delivery/sendRequest.js'
import type { RunRecords } from '../../../journeys/journeyRecorder.js'
import { deliver } from '../activityProxies.js'
import type { JourneyRun } from '../journeyRun.js'
import { STOP, type StepHandler, type StepOf } from './stepHandler.js'

type Send = StepOf<'send'>

interface Attempt {
  messageId: string
  scheduledAt: number
  records: RunRecords | undefined
  last: boolean
}

/** What the send activity is asked: the message, the run's context, and the records the run buffered. */
function sendRequest(run: JourneyRun, s: Send, a: Attempt): SendRequest {
  const { journey, payload, state } = run
  return {
    ...run.base,
    messageId: a.messageId,
    stepId: s.id,
    correlationKey: journey.entry.correlationKey,
    correlation: run.input.correlation,
    trigger: run.input.trigger,
    template: typeof payload.template === 'string' ? payload.template : s.template,
    subject: typeof payload.subject === 'string' ? payload.subject : s.subject,
    topic: s.topic ?? journey.entry.consent,
    priority: journey.priority,
    exit: journey.exit,
    ...(run.sendCondition ? { condition: run.sendCondition } : {}),
    experimentKey: state.experimentKey,
    variant: state.variant,
    flags: state.flags,
    scheduledAt: a.scheduledAt,
    records: a.records,
    // The last step: the send also records how the run ended (one round trip fewer).
    ...(a.last ? { last: true } : {}),
  }
}

/** One try: the send activity, carrying the buffered records (kept for later if it fails). */
async function attempt(run: JourneyRun, s: Send, messageId: string, scheduledAt: number, last: boolean): Promise<DeliverResult> {
  const records = run.take()
  return deliver(sendRequest(run, s, { messageId, scheduledAt, records, last })).catch((err: unknown) => {
    // The records it carried are not stored: keep them for the run's end.
    if (records) run.putBack(records)
    throw err
  })
}

/**
 * Sends a message through the send gate (consent, exits, suppressions, quiet hours, frequency
 * cap are re-checked there, right before the transport). A deferred send waits and asks again;
 * a skip for a reason that ends the run (opt-out, conversion, …) ends it.
 */
export const sendStep: StepHandler<Send> = {
  parks: true,
  async run(run, s, { to }) {
    // Continued as new while deferred (quiet hours, cap): finish that wait first.
    const deferredLeft = run.takeResumed()
    if (deferredLeft !== undefined && (await run.pause(deferredLeft, s.id))) return STOP
    const messageId = uuid4()
    const scheduledAt = Date.now()
    run.state.status = 'sending'
    while (!run.exitReason) {
      const res = await attempt(run, s, messageId, scheduledAt, to === undefined)
      if (res.status === 'deferred') {
        run.state.status = 'waiting'
        if (await run.pause(Math.max(0, res.until! - Date.now()), s.id)) break
        continue
      }
      if (res.status === 'sent') run.state.sends++
      if (res.status === 'skipped' && res.exit) run.exitReason ??= res.reason
      if (res.ended) run.endRecorded = true
      break
    }
    return run.exitReason ? STOP : { to }
  },
}

import { isTimeZone, msUntilInside } from '../../../core/localTime.js'
import { type DetectOptions, type Finding, finding, iso } from './model.js'
import type { SendWithRun } from './sendsSql.js'

/**
 * The classes that need only the sends themselves, checked in send order. Each check is one
 * class; the stateful ones (duplicate, frequency cap) remember the earlier sends they compare with.
 */
export function checkSends(sends: SendWithRun[], o: DetectOptions): Finding[] {
  const findings: Finding[] = []
  const duplicate = duplicateCheck(o.duplicateWindowMs)
  const frequencyCap = frequencyCapCheck(o.frequencyCap)
  const keep = (f: Finding | undefined) => {
    if (f) findings.push(f)
  }
  for (const s of sends) {
    if (Number(s.test)) {
      findings.push(finding('test_account', s, { sentAt: iso(Number(s.sent_ms)) }))
      continue
    }
    keep(duplicate(s))
    if (s.topic !== 'transactional') {
      keep(quietHoursCheck(s, o))
      keep(frequencyCap(s))
    }
    keep(staleTriggerCheck(s, o.staleMs))
  }
  return findings
}

/**
 * duplicate: one step's message per key — a re-entry for the same cart (a later run, same or
 * another id) sending that step again within the window. A step one run visits twice (a loop) is
 * not one: under one id, a run must have started between the two sends. Runs without a key have none.
 */
function duplicateCheck(windowMs: number) {
  const lastOf = new Map<string, SendWithRun>()
  return (s: SendWithRun): Finding | undefined => {
    const sentMs = Number(s.sent_ms)
    const dupKey = `${s.user_key}\u0000${s.journey_id}\u0000${s.corr ?? ''}\u0000${s.step_id}`
    const prev = s.corr ? lastOf.get(dupKey) : undefined
    const reentered = (p: SendWithRun) =>
      p.workflow_id !== s.workflow_id || (s.starts ?? []).some((t) => Number(t) > Number(p.sent_ms) && Number(t) <= sentMs)
    const dup =
      prev && prev.message_id !== s.message_id && sentMs - Number(prev.sent_ms) < windowMs && reentered(prev)
        ? finding('duplicate', s, {
            earlier: { messageId: prev.message_id, workflowId: prev.workflow_id, sentAt: iso(prev.sent_ms) },
            correlation: s.corr ?? '',
            sentAt: iso(sentMs),
          })
        : undefined
    lastOf.set(dupKey, s)
    return dup
  }
}

/** sent_in_quiet_hours: in the user's time zone (their `timezone` trait, else the default). */
function quietHoursCheck(s: SendWithRun, o: DetectOptions): Finding | undefined {
  const sentMs = Number(s.sent_ms)
  const tz = isTimeZone(s.tz) ? s.tz : o.quietHoursTz
  if (o.quietHours && msUntilInside(sentMs, tz, o.quietHours.to, o.quietHours.from) > 0)
    return finding('sent_in_quiet_hours', s, { quietHours: `${o.quietHours.from}-${o.quietHours.to}`, timeZone: tz, sentAt: iso(sentMs) })
  return undefined
}

/** over_frequency_cap: the user already had `max` non-transactional sends within the window. */
function frequencyCapCheck(cap: DetectOptions['frequencyCap']) {
  const capOf = new Map<string, number[]>()
  return (s: SendWithRun): Finding | undefined => {
    if (!cap) return undefined
    const sentMs = Number(s.sent_ms)
    const times = (capOf.get(s.user_key) ?? []).filter((t) => t > sentMs - cap.windowMs)
    const over =
      times.length >= cap.max ? finding('over_frequency_cap', s, { cap, earlierSends: times.map(iso), sentAt: iso(sentMs) }) : undefined
    times.push(sentMs)
    capOf.set(s.user_key, times)
    return over
  }
}

/** stale_trigger: the trigger event was older than allowed when it arrived. */
function staleTriggerCheck(s: SendWithRun, staleMs: number): Finding | undefined {
  if (s.trigger_ms && Number(s.received_ms) - Number(s.trigger_ms) > staleMs)
    return finding('stale_trigger', s, {
      trigger: { messageId: s.trigger_message, at: iso(s.trigger_ms), receivedAt: iso(s.received_ms) },
      maxAgeMs: staleMs,
    })
  return undefined
}

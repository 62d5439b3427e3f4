import type { ClickHouseClient } from '@clickhouse/client'
import { isTimeZone, msUntilInside } from '../../core/localTime.js'
import { selectRows } from '../../clickhouse/store.js'

/**
 * False-trigger detection: every send in a range is checked against what the store knows, and
 * each mistake is classified with the evidence that proves it (the events, consent rows or
 * earlier messages). Skipped sends are what the pre-send check caught in time ("prevented").
 *
 * Classes (sends): sent_after_conversion (the run's exit event — by correlation key or user —
 * happened after the trigger and before the send; `race` when it arrived only after the send),
 * sent_after_opt_out (consent for the topic withdrawn, or the address suppressed, before the
 * send), duplicate (same user, journey and key within the window), sent_in_quiet_hours,
 * over_frequency_cap, stale_trigger (the trigger event was older than allowed when it arrived),
 * condition_false_at_send (the trigger's condition, re-evaluated when the mail went out, no longer
 * held: a segment-entry or scheduled run's user had left the segment, a segment-exit run's user
 * was back in it), test_account (a test account's run — expected, reported apart and not counted
 * in the rate). An event trigger's condition is the event's own properties, which do not change.
 */
export const FALSE_TRIGGER_CLASSES = [
  'sent_after_conversion',
  'sent_after_opt_out',
  'duplicate',
  'sent_in_quiet_hours',
  'over_frequency_cap',
  'stale_trigger',
  'condition_false_at_send',
  'test_account',
] as const
export type FalseTriggerClass = (typeof FALSE_TRIGGER_CLASSES)[number]
/** Not mistakes of Nudge's (reported, never alerted on). */
export const INFORMATIONAL: ReadonlySet<FalseTriggerClass> = new Set(['test_account'])

export interface JourneyExits {
  id: string
  correlationKey?: string
  exits: { event: string; match: 'correlation' | 'user' }[]
  /** A segment trigger: the membership that started the run must still hold at the send. */
  segment?: { id: string; member: boolean }
}

export interface DetectOptions {
  from: number
  until: number
  journeys: JourneyExits[]
  staleMs: number
  duplicateWindowMs: number
  quietHours?: { from: string; to: string }
  quietHoursTz: string
  frequencyCap?: { max: number; windowMs: number }
}

export interface Finding {
  class: FalseTriggerClass
  journeyId: string
  userKey: string
  messageId: string
  at: number
  evidence: Record<string, unknown>
}

const SENDS = `
  SELECT message_id, any(journey_id) AS journey_id, any(user_key) AS user_key, any(workflow_id) AS workflow_id, any(step_id) AS step_id,
         any(topic) AS topic, any(recipient_hash) AS recipient_hash, max(is_test) AS test,
         toUnixTimestamp64Milli(min(at)) AS sent_ms
  FROM send_ledger
  WHERE status = 'sent' AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
  GROUP BY message_id`

const RUNS = `
  SELECT workflow_id, any(correlation) AS corr, groupArray(toUnixTimestamp64Milli(received_at)) AS starts, toUnixTimestamp64Milli(min(trigger_at)) AS trigger_ms,
         toUnixTimestamp64Milli(min(received_at)) AS received_ms, any(trigger_message_id) AS trigger_message
  FROM journey_runs WHERE phase = 'started' AND workflow_id IN (SELECT workflow_id FROM (${SENDS}))
  GROUP BY workflow_id`

type Send = {
  message_id: string
  journey_id: string
  user_key: string
  workflow_id: string
  step_id: string
  topic: string
  test: number
  sent_ms: number
}

export async function detectFalseTriggers(client: ClickHouseClient, o: DetectOptions): Promise<Finding[]> {
  const p = { from: o.from, until: o.until }
  const findings: Finding[] = []
  const add = (
    cls: FalseTriggerClass,
    s: Pick<Send, 'journey_id' | 'user_key' | 'message_id' | 'sent_ms'>,
    evidence: Record<string, unknown>,
  ) => findings.push({ class: cls, journeyId: s.journey_id, userKey: s.user_key, messageId: s.message_id, at: Number(s.sent_ms), evidence })

  const sends = await selectRows<
    Send & { corr: string; starts: (number | string)[]; trigger_ms: number; received_ms: number; trigger_message: string; tz: string }
  >(
    client,
    `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.workflow_id AS workflow_id, s.step_id AS step_id, s.topic AS topic,
            s.test AS test, s.sent_ms AS sent_ms, r.corr AS corr, r.starts AS starts, r.trigger_ms AS trigger_ms, r.received_ms AS received_ms, r.trigger_message AS trigger_message,
            ifNull(t.tz, '') AS tz
     FROM (${SENDS}) AS s
     LEFT JOIN (${RUNS}) AS r ON r.workflow_id = s.workflow_id
     LEFT JOIN (SELECT user_key, JSONExtractString(argMax(value, updated_at)) AS tz FROM traits WHERE key = 'timezone' GROUP BY user_key) AS t ON t.user_key = s.user_key
     ORDER BY s.sent_ms`,
    p,
  )

  // Conversion before the send: per journey, its exit events, matched by correlation value or user.
  for (const j of o.journeys) {
    for (const x of j.exits) {
      const byKey = x.match === 'correlation' && j.correlationKey
      const path = byKey ? j.correlationKey!.split('.') : []
      const keyExpr = path.length
        ? `trim(BOTH '"' FROM JSONExtractRaw(e.properties, ${path.map((_, i) => `{k${i}:String}`).join(', ')}))`
        : "''"
      const rows = await selectRows<{
        message_id: string
        journey_id: string
        user_key: string
        sent_ms: number
        ev_message: string
        ev_event: string
        ev_ms: number
        ev_received_ms: number
      }>(
        client,
        `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms,
                e.message_id AS ev_message, e.event AS ev_event, toUnixTimestamp64Milli(e.timestamp) AS ev_ms, toUnixTimestamp64Milli(e.received_at) AS ev_received_ms
         FROM (${SENDS}) AS s
         INNER JOIN (${RUNS}) AS r ON r.workflow_id = s.workflow_id
         INNER JOIN (SELECT user_key, message_id, event, timestamp, received_at, properties FROM events WHERE event = {exit:String}) AS e ON e.user_key = s.user_key
         WHERE s.journey_id = {journey:String} AND s.test = 0
           AND toUnixTimestamp64Milli(e.timestamp) >= r.trigger_ms AND toUnixTimestamp64Milli(e.timestamp) < s.sent_ms
           AND e.message_id != r.trigger_message
           ${byKey ? `AND ${keyExpr} = r.corr` : ''}
         ORDER BY e.timestamp
         LIMIT 1 BY s.message_id`,
        { ...p, journey: j.id, exit: x.event, ...Object.fromEntries(path.map((k, i) => [`k${i}`, k])) },
      )
      for (const r of rows)
        add('sent_after_conversion', r, {
          conversion: { messageId: r.ev_message, event: r.ev_event, at: iso(r.ev_ms), receivedAt: iso(r.ev_received_ms) },
          sentAt: iso(r.sent_ms),
          // Received only after the send: a race Nudge could not have seen; earlier: a miss.
          race: Number(r.ev_received_ms) >= Number(r.sent_ms),
        })
    }
  }

  // Consent withdrawn, or the address suppressed, before the send.
  const optOuts = await selectRows<{
    message_id: string
    journey_id: string
    user_key: string
    sent_ms: number
    topic: string
    changed_ms: number
    source: string
  }>(
    client,
    `SELECT s.message_id AS message_id, any(s.journey_id) AS journey_id, any(s.user_key) AS user_key, any(s.sent_ms) AS sent_ms, any(s.topic) AS topic,
            argMax(c.granted, c.changed_ms) AS g, max(c.changed_ms) AS changed_ms, argMax(c.source, c.changed_ms) AS source
     FROM (${SENDS}) AS s
     INNER JOIN (SELECT user_key, topic, granted, source, toUnixTimestamp64Milli(changed_at) AS changed_ms FROM consent) AS c ON c.user_key = s.user_key AND c.topic = s.topic
     WHERE c.changed_ms < s.sent_ms AND s.test = 0
     GROUP BY s.message_id
     HAVING g = 0`,
    p,
  )
  for (const r of optOuts)
    add('sent_after_opt_out', r, {
      consent: { topic: r.topic, granted: false, changedAt: iso(r.changed_ms), source: r.source },
      sentAt: iso(r.sent_ms),
    })
  const suppressed = await selectRows<{
    message_id: string
    journey_id: string
    user_key: string
    sent_ms: number
    reason: string
    at_ms: number
  }>(
    client,
    `SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms, sp.reason AS reason, toUnixTimestamp64Milli(sp.at) AS at_ms
     FROM (${SENDS}) AS s INNER JOIN (SELECT * FROM suppressions FINAL WHERE active = 1) AS sp ON sp.lookup_hash = s.recipient_hash
     WHERE toUnixTimestamp64Milli(sp.at) < s.sent_ms AND s.test = 0 AND s.recipient_hash != ''`,
    p,
  )
  for (const r of suppressed) add('sent_after_opt_out', r, { suppression: { reason: r.reason, at: iso(r.at_ms) }, sentAt: iso(r.sent_ms) })

  // The trigger's condition re-evaluated at the send: the user's last segment transition before it.
  const bySegment = o.journeys.filter((j) => j.segment)
  if (bySegment.length) {
    const moved = await selectRows<{
      message_id: string
      journey_id: string
      user_key: string
      sent_ms: number
      decided_ms: number
      member: number
      changed_ms: number
      cause: string
      segment: string
    }>(
      client,
      `SELECT s.message_id AS message_id, any(s.journey_id) AS journey_id, any(s.user_key) AS user_key, any(s.sent_ms) AS sent_ms, any(s.decided_ms) AS decided_ms,
              any(t.segment_id) AS segment, argMax(t.entered, t.at) AS member, toUnixTimestamp64Milli(max(t.at)) AS changed_ms, argMax(t.cause, t.at) AS cause
       FROM (
         SELECT s.message_id AS message_id, s.journey_id AS journey_id, s.user_key AS user_key, s.sent_ms AS sent_ms, s.test AS test, d.decided_ms AS decided_ms
         FROM (${SENDS}) AS s
         INNER JOIN (SELECT message_id, toUnixTimestamp64Milli(min(at)) AS decided_ms FROM send_ledger
                     WHERE journey_id IN {journeys:Array(String)} AND at < fromUnixTimestamp64Milli({until:Int64}) GROUP BY message_id) AS d ON d.message_id = s.message_id
         WHERE s.test = 0 AND s.journey_id IN {journeys:Array(String)}
       ) AS s
       INNER JOIN (
         SELECT segment_id, user_key, entered, at, cause FROM segment_transitions
         WHERE segment_id IN {segments:Array(String)} AND at < fromUnixTimestamp64Milli({until:Int64})
       ) AS t ON t.user_key = s.user_key
       WHERE t.segment_id = transform(s.journey_id, {journeys:Array(String)}, {segments:Array(String)}, '') AND toUnixTimestamp64Milli(t.at) <= s.sent_ms
       GROUP BY s.message_id`,
      { ...p, journeys: bySegment.map((j) => j.id), segments: bySegment.map((j) => j.segment!.id) },
    )
    for (const r of moved) {
      const want = o.journeys.find((j) => j.id === r.journey_id)!.segment!.member
      if (Number(r.member) === (want ? 1 : 0)) continue
      add('condition_false_at_send', r, {
        segment: { id: r.segment, memberRequired: want, member: Number(r.member) === 1, changedAt: iso(r.changed_ms), cause: r.cause },
        decidedAt: iso(r.decided_ms),
        sentAt: iso(r.sent_ms),
        // Changed only after the check decided to send: a race the check could not have seen.
        race: Number(r.changed_ms) > Number(r.decided_ms),
      })
    }
  }

  // The rest needs only the sends themselves.
  const lastOf = new Map<string, Send & { corr: string }>()
  const capOf = new Map<string, number[]>()
  for (const s of sends) {
    const sentMs = Number(s.sent_ms)
    if (Number(s.test)) {
      add('test_account', s, { sentAt: iso(sentMs) })
      continue
    }
    // One step's message per key: a re-entry for the same cart (a later run, same or another id)
    // sending that step again within the window. A step one run visits twice (a loop) is not one:
    // under one id, a run must have started between the two sends. Runs without a key have none.
    const dupKey = `${s.user_key}\u0000${s.journey_id}\u0000${s.corr ?? ''}\u0000${s.step_id}`
    const prev = s.corr ? lastOf.get(dupKey) : undefined
    const reentered = (p: Send) =>
      p.workflow_id !== s.workflow_id || (s.starts ?? []).some((t) => Number(t) > Number(p.sent_ms) && Number(t) <= sentMs)
    if (prev && prev.message_id !== s.message_id && sentMs - Number(prev.sent_ms) < o.duplicateWindowMs && reentered(prev))
      add('duplicate', s, {
        earlier: { messageId: prev.message_id, workflowId: prev.workflow_id, sentAt: iso(prev.sent_ms) },
        correlation: s.corr ?? '',
        sentAt: iso(sentMs),
      })
    lastOf.set(dupKey, s)
    if (s.topic !== 'transactional') {
      const tz = isTimeZone(s.tz) ? s.tz : o.quietHoursTz
      if (o.quietHours && msUntilInside(sentMs, tz, o.quietHours.to, o.quietHours.from) > 0)
        add('sent_in_quiet_hours', s, { quietHours: `${o.quietHours.from}-${o.quietHours.to}`, timeZone: tz, sentAt: iso(sentMs) })
      if (o.frequencyCap) {
        const times = (capOf.get(s.user_key) ?? []).filter((t) => t > sentMs - o.frequencyCap!.windowMs)
        if (times.length >= o.frequencyCap.max)
          add('over_frequency_cap', s, { cap: o.frequencyCap, earlierSends: times.map(iso), sentAt: iso(sentMs) })
        times.push(sentMs)
        capOf.set(s.user_key, times)
      }
    }
    if (s.trigger_ms && Number(s.received_ms) - Number(s.trigger_ms) > o.staleMs)
      add('stale_trigger', s, {
        trigger: { messageId: s.trigger_message, at: iso(s.trigger_ms), receivedAt: iso(s.received_ms) },
        maxAgeMs: o.staleMs,
      })
  }
  return findings
}

/** What the pre-send check stopped in the range, by reason (the false triggers caught in time). */
export async function preventedSends(client: ClickHouseClient, o: { from: number; until: number }) {
  return selectRows<{ journey_id: string; reason: string; n: string }>(
    client,
    `SELECT journey_id, reason, count() AS n FROM journey_steps
     WHERE outcome = 'skipped' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
     GROUP BY journey_id, reason ORDER BY journey_id, reason`,
    o,
  )
}

/**
 * Runs that could not proceed in the range, by journey and reason (`failed:<step type>:<error
 * type>`, journey.workflow.ts): an activity refused its input or kept failing, and the run ended
 * there instead of retrying forever. With a few examples carrying the failure's message.
 */
export async function failedRuns(client: ClickHouseClient, o: { from: number; until: number }, examples = 5) {
  const range = `at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})`
  const [counts, rows] = await Promise.all([
    selectRows<{ journey_id: string; outcome: string; n: string }>(
      client,
      `SELECT journey_id, outcome, uniqExact(workflow_id, trigger_message_id) AS n FROM journey_runs
       WHERE phase = 'ended' AND startsWith(outcome, 'failed:') AND ${range}
       GROUP BY journey_id, outcome ORDER BY journey_id, outcome`,
      o,
    ),
    selectRows<{
      journey_id: string
      workflow_id: string
      user_key: string
      step_id: string
      step_type: string
      reason: string
      at_ms: number
    }>(
      client,
      `SELECT journey_id, workflow_id, user_key, step_id, step_type, reason, toUnixTimestamp64Milli(at) AS at_ms FROM journey_steps
       WHERE outcome = 'failed' AND ${range} ORDER BY at DESC LIMIT 1 BY workflow_id, step_id LIMIT {examples:UInt32}`,
      { ...o, examples },
    ),
  ])
  return {
    counts: counts.map((c) => ({ journeyId: c.journey_id, outcome: c.outcome, runs: Number(c.n) })),
    examples: rows.map((r) => ({
      journey: r.journey_id,
      workflowId: r.workflow_id,
      userKey: r.user_key,
      step: r.step_id,
      stepType: r.step_type,
      message: r.reason,
      at: iso(r.at_ms),
    })),
  }
}

/** Sends per journey in the range (the rate's denominator). */
export async function sendCounts(client: ClickHouseClient, o: { from: number; until: number }) {
  return selectRows<{ journey_id: string; n: string }>(
    client,
    `SELECT journey_id, uniqExact(message_id) AS n FROM send_ledger
     WHERE status = 'sent' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
     GROUP BY journey_id`,
    o,
  )
}

export async function falseTriggerReport(client: ClickHouseClient, o: DetectOptions, examplesPerClass = 5) {
  const [findings, prevented, sent, failed] = await Promise.all([
    detectFalseTriggers(client, o),
    preventedSends(client, o),
    sendCounts(client, o),
    failedRuns(client, o, examplesPerClass),
  ])
  const journeys = [
    ...new Set([
      ...findings.map((f) => f.journeyId),
      ...sent.map((s) => s.journey_id),
      ...prevented.map((x) => x.journey_id),
      ...failed.counts.map((x) => x.journeyId),
    ]),
  ].sort()
  const counts = (list: Finding[]) => Object.fromEntries(FALSE_TRIGGER_CLASSES.map((c) => [c, list.filter((f) => f.class === c).length]))
  const rate = (list: Finding[], sends: number) =>
    sends ? new Set(list.filter((f) => !INFORMATIONAL.has(f.class)).map((f) => f.messageId)).size / sends : 0
  const totalSends = sent.reduce((a, s) => a + Number(s.n), 0)
  const real = findings.filter((f) => !INFORMATIONAL.has(f.class))
  return {
    from: iso(o.from),
    until: iso(o.until),
    sends: totalSends,
    falseTriggers: new Set(real.map((f) => f.messageId)).size,
    rate: rate(findings, totalSends),
    alert: real.length > 0,
    counts: counts(findings),
    /** Runs that ended because they could not proceed (not false triggers: nothing was sent). */
    failedRuns: failed.counts.reduce((a, x) => a + x.runs, 0),
    journeys: journeys.map((j) => {
      const mine = findings.filter((f) => f.journeyId === j)
      const sends = Number(sent.find((s) => s.journey_id === j)?.n ?? 0)
      return {
        journey: j,
        sends,
        counts: counts(mine),
        rate: rate(mine, sends),
        prevented: Object.fromEntries(prevented.filter((x) => x.journey_id === j).map((x) => [x.reason, Number(x.n)])),
        failed: Object.fromEntries(failed.counts.filter((x) => x.journeyId === j).map((x) => [x.outcome, x.runs])),
      }
    }),
    failures: failed.examples,
    examples: Object.fromEntries(
      FALSE_TRIGGER_CLASSES.map((c) => [
        c,
        findings
          .filter((f) => f.class === c)
          .slice(0, examplesPerClass)
          .map((f) => ({ journey: f.journeyId, userKey: f.userKey, messageId: f.messageId, at: iso(f.at), evidence: f.evidence })),
      ]),
    ),
  }
}

function iso(ms: number | string): string {
  return new Date(Number(ms)).toISOString()
}

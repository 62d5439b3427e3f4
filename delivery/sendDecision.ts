import { ENGAGEMENT_EVENTS } from '../segments/ruleSchema.js'
import { type JourneyEvent, matchesRunEvent } from '../journeys/matchEvent.js'
import { isTimeZone, msUntilInside } from '../core/localTime.js'
import type { SendRequest } from './sendRequest.js'

/**
 * The per-message decision of the pre-send check, as a pure function of the facts read for it:
 * no store, no clock, no memory of its own (the gate reads the facts, keeps its reservations and
 * passes them in). Reason codes are stable: they are recorded with skipped and deferred steps
 * and reports count them. Dynamic ones carry what decided: `exit:<event>`,
 * `left_segment:<segment>`, `condition_false:<segment>`.
 */
export const SKIP_REASONS = ['erased', 'consent', 'suppressed', 'no_address', 'global_holdout', 'duplicate', 'frequency_cap'] as const
export const DEFER_REASONS = ['quiet_hours', 'frequency_cap'] as const
/** Skip reasons that name what decided: `<prefix>:<event or segment>`. */
export const SKIP_REASON_PREFIXES = ['exit', 'left_segment', 'condition_false'] as const

export type SendDecision =
  | { action: 'send'; resumed: boolean }
  | { action: 'already_sent' }
  | { action: 'skip'; reason: string; exit: boolean }
  | { action: 'defer'; reason: string; until: number }

/** The policies in force (configuration). */
export interface SendPolicy {
  consentDefaults: Record<string, boolean>
  frequencyCap?: { max: number; windowMs: number }
  capMode: 'defer' | 'skip'
  quietHours?: { from: string; to: string }
  quietHoursTz: string
  /** Soft bounces within 30 days that suppress an address (hard bounces and complaints: one). Default 3. */
  softBounceLimit?: number
  /** A correlated journey sends a step at most once per key within this window (0/undefined: off). */
  duplicateWindowMs?: number
}

/** A message decided earlier: its id and when it was first decided (ms). */
export interface PriorSend {
  id: string
  at: number
}

/** A send this process decided whose ledger row may not be readable yet. */
export interface Reservation extends PriorSend {
  runStep: string
}

/** What was read for one request. */
export interface SendFacts {
  /** The user was erased after the run's trigger. */
  erased: boolean
  /** This message's latest ledger status, if it has one (`sending` or `sent`). */
  ledgerStatus?: string
  /** Consent stored for the request's topic; undefined = never recorded (the default applies). */
  granted?: boolean
  /** The user's exit-criteria events since the earliest trigger, and their bounces and complaints. */
  events: readonly JourneyEvent[]
  /** Segments (among the request's `segment_exit` criteria) the user is a member of now. */
  memberOf: ReadonlySet<string>
  /** The trigger's segment condition holds now (true when there is none). */
  conditionHolds: boolean
  /** The address is on the suppression list. */
  listSuppressed: boolean
  hasAddress: boolean
  /** Test account (test run, test user id or test address): never capped, held or held out. */
  test: boolean
  /** The recipient's `timezone` trait, as stored. */
  timeZone?: unknown
  inGlobalHoldout: boolean
  /** The ledger's sends to this user within the cap window that count against the cap. */
  capUsed: readonly PriorSend[]
  /** The ledger's sends of this run step (journey, user, correlation key, step) within the duplicate window. */
  sameStep: readonly PriorSend[]
  /** This process's reservations for the user. */
  reserved: readonly Reservation[]
}

const SOFT_BOUNCE_WINDOW_MS = 30 * 86_400_000

/** Transactional mail is never capped or held for quiet hours. */
export const UNCAPPED_TOPICS: ReadonlySet<string> = new Set(['transactional'])

/** A run id names journey, user and correlation key; with the step it names one message's purpose. */
export const runStep = (r: Pick<SendRequest, 'workflowId' | 'stepId'>) => `${r.workflowId}\u0000${r.stepId}`

/** Decides one send. Checks run in a fixed order; the first that holds gives the answer. */
export function decideSend(r: SendRequest, f: SendFacts, p: SendPolicy, now: number): SendDecision {
  if (f.erased) return { action: 'skip', reason: 'erased', exit: true }
  if (f.ledgerStatus === 'sent') return { action: 'already_sent' }
  // Decided before a crash, perhaps handed over: send again with the same Message-ID (the
  // transport collapses it), without deciding again.
  if (f.ledgerStatus === 'sending') return { action: 'send', resumed: true }
  const granted = f.granted ?? p.consentDefaults[r.topic] ?? false
  if (!granted) return { action: 'skip', reason: 'consent', exit: true }
  const exited = exitReason(r, f)
  if (exited) return { action: 'skip', reason: exited, exit: true }
  // The trigger re-evaluated now: a run for entering a segment sends only to a member still.
  if (r.condition && !f.conditionHolds) return { action: 'skip', reason: `condition_false:${r.condition.segment}`, exit: true }
  if (isSuppressed(f, p, now)) return { action: 'skip', reason: 'suppressed', exit: true }
  if (!f.hasAddress) return { action: 'skip', reason: 'no_address', exit: true }
  if (!f.test && f.inGlobalHoldout) return { action: 'skip', reason: 'global_holdout', exit: true }
  if (isDuplicate(r, f, p, now)) return { action: 'skip', reason: 'duplicate', exit: true }
  if (UNCAPPED_TOPICS.has(r.topic) || f.test) return { action: 'send', resumed: false }
  const tz = isTimeZone(f.timeZone) ? f.timeZone : p.quietHoursTz
  const wait = p.quietHours ? msUntilInside(now, tz, p.quietHours.to, p.quietHours.from) : 0
  if (wait > 0) return { action: 'defer', reason: 'quiet_hours', until: now + wait }
  return capDecision(r, f, p, now) ?? { action: 'send', resumed: false }
}

/** The first exit criterion that holds: a matching event after the trigger, or a segment left. */
function exitReason(r: SendRequest, f: SendFacts): string | undefined {
  const run = { userKey: r.userKey, correlationKey: r.correlationKey, correlation: r.correlation }
  for (const x of r.exit) {
    if (
      x.type === 'event' &&
      f.events.some((e) => e.timestamp >= r.trigger.timestamp && e.messageId !== r.trigger.messageId && matchesRunEvent(x, e, run))
    )
      return `exit:${x.event}`
    if (x.type === 'segment_exit' && !f.memberOf.has(x.segment)) return `left_segment:${x.segment}`
  }
  return undefined
}

/** On the list, or by the user's own engagement: a complaint, a hard bounce, or too many soft bounces lately. */
function isSuppressed(f: SendFacts, p: SendPolicy, now: number): boolean {
  if (f.listSuppressed) return true
  const softBounces = f.events.filter(
    (e) => e.event === ENGAGEMENT_EVENTS.bounced && e.properties.bounce_type === 'soft' && e.timestamp >= now - SOFT_BOUNCE_WINDOW_MS,
  ).length
  if (softBounces >= (p.softBounceLimit ?? 3)) return true
  return f.events.some(
    (e) =>
      e.event === ENGAGEMENT_EVENTS.complained ||
      (e.event === ENGAGEMENT_EVENTS.bounced && (e.properties.bounce_type ?? 'hard') !== 'soft'),
  )
}

/**
 * An earlier run of this id (same journey, user and key) sent this step within the window. Only
 * sends from before this run's trigger count: a step this run visits again (a loop) is its own.
 */
function isDuplicate(r: SendRequest, f: SendFacts, p: SendPolicy, now: number): boolean {
  const window = p.duplicateWindowMs
  if (!window || r.correlation === undefined) return false
  const before = r.trigger.receivedAt
  if (f.sameStep.some((s) => s.id !== r.messageId && s.at < before)) return true
  const key = runStep(r)
  return f.reserved.some((v) => v.id !== r.messageId && v.runStep === key && v.at >= now - window && v.at < before)
}

/** Over the frequency cap (the ledger's sends and this process's reservations in the window): skip or wait for a slot. */
function capDecision(r: SendRequest, f: SendFacts, p: SendPolicy, now: number): SendDecision | undefined {
  const cap = p.frequencyCap
  if (!cap) return undefined
  const used = new Map(f.capUsed.map((u) => [u.id, u.at]))
  for (const { id, at } of f.reserved) if (at >= now - cap.windowMs) used.set(id, at)
  used.delete(r.messageId)
  if (used.size < cap.max) return undefined
  if (p.capMode === 'skip') return { action: 'skip', reason: 'frequency_cap', exit: false }
  const oldest = [...used.values()].sort((a, b) => a - b)[used.size - cap.max]!
  return { action: 'defer', reason: 'frequency_cap', until: oldest + cap.windowMs + 1 }
}

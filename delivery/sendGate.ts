import type { ClickHouseClient } from '@clickhouse/client'
import { pushTo } from '../core/multimap.js'
import { selectRows } from '../clickhouse/store.js'
import { ENGAGEMENT_EVENTS } from '../segments/ruleSchema.js'
import type { ContactCipher } from '../core/contactCipher.js'
import { parseJsonObject, parseJsonText } from '../core/jsonText.js'
import type { RunRecords } from '../journeys/journeyRecorder.js'
import type { ExitCriterion } from '../journeys/journeySchema.js'
import type { SegmentCondition } from '../journeys/triggerCondition.js'
import { type JourneyEvent, matchesRunEvent } from '../journeys/matchEvent.js'
import { isTimeZone, msUntilInside } from '../core/localTime.js'

/** A send a run asks for; the message id is the workflow's, stable across retries. */
export interface SendRequest {
  messageId: string
  workflowId: string
  journeyId: string
  journeyVersion: number
  stepId: string
  userKey: string
  correlationKey?: string
  correlation?: string
  trigger: JourneyEvent
  template: string
  subject?: string
  topic: string
  priority: number
  exit: ExitCriterion[]
  /** The trigger's segment condition, re-checked before the send (segment and schedule triggers). */
  condition?: SegmentCondition
  experimentKey?: string
  variant?: string
  flags: Record<string, unknown>
  scheduledAt: number
  test: boolean
  /** Records the run buffered; stored with this send's own (one round trip fewer per step). */
  records?: RunRecords
  /** The run's last step: record its end with this send. */
  last?: boolean
}

export interface Recipient {
  email?: string
  /** The contact's keyed lookup hash (as stored with it): what the ledger keeps instead of the address. */
  lookupHash?: string
  traits: Record<string, unknown>
  test: boolean
}

export type GateDecision =
  | { action: 'send'; recipient: Recipient; resumed: boolean }
  | { action: 'already_sent' }
  | { action: 'skip'; reason: string; exit: boolean }
  | { action: 'defer'; reason: string; until: number }

export interface GateOptions {
  client: ClickHouseClient
  cipher: ContactCipher
  consentDefaults: Record<string, boolean>
  frequencyCap?: { max: number; windowMs: number }
  capMode: 'defer' | 'skip'
  /** How long a capped send waits for competing sends to the same user (priority decides). */
  priorityWindowMs?: number
  quietHours?: { from: string; to: string }
  quietHoursTz: string
  testUserIds: ReadonlySet<string>
  testEmailPattern?: RegExp
  isMember(segmentId: string, userKey: string): boolean
  inGlobalHoldout(userKey: string): boolean
  /** Soft bounces within 30 days that suppress an address (hard bounces and complaints: one). */
  softBounceLimit?: number
  /**
   * A journey with a correlation key sends a step at most once per key within this window: a
   * re-entry for the same cart (a late or duplicate Product Added after the run ended) is skipped
   * as `duplicate` — the false-trigger report's definition of one.
   */
  duplicateWindowMs?: number
  /**
   * Whether the user was erased after this run's trigger (the erasure's tombstones): such a run
   * belongs to the erased person and must neither send nor record anything.
   */
  isErased?: (userKey: string, triggeredAt: number) => boolean
  now?: () => number
}

const SOFT_BOUNCE_WINDOW_MS = 30 * 86_400_000

/** A run id names journey, user and correlation key; with the step it names one message's purpose. */
const runStep = (r: Pick<SendRequest, 'workflowId' | 'stepId'>) => `${r.workflowId}\u0000${r.stepId}`

/** Transactional mail is never capped or held for quiet hours. */
const UNCAPPED_TOPICS = new Set(['transactional'])
const SUPPRESSING = [ENGAGEMENT_EVENTS.complained, ENGAGEMENT_EVENTS.bounced]

interface Pending {
  req: SendRequest
  resolve: (d: GateDecision) => void
  reject: (err: unknown) => void
}

/**
 * The check right before every send, against the store (so it holds across processes): the send
 * ledger (a retried send never mails twice), consent for the message's topic, the journey's exit
 * criteria (a conversion that arrived a millisecond ago), suppression, the global holdout, quiet
 * hours and the frequency cap. Checks that arrive together share one round of queries, so a
 * burst of sends costs a handful of queries, not a handful per send.
 */
export class SendGate {
  private pending: Pending[] = []
  private readonly contending = new Map<string, Pending[]>()
  private running: Promise<void> | null = null
  /** Sends decided here whose ledger row may not be readable yet: message id → when and which run step, per user. */
  private readonly reserved = new Map<string, Map<string, { at: number; runStep: string }>>()
  private readonly now: () => number

  constructor(private readonly opts: GateOptions) {
    this.now = opts.now ?? Date.now
  }

  /** A run of an erased person (see `isErased`): answered at once, before anything is read or written. */
  erased(req: Pick<SendRequest, 'userKey' | 'trigger'>): boolean {
    return this.opts.isErased?.(req.userKey, req.trigger.timestamp) === true
  }

  /** After an erasure: reservations and waiting sends of these users are dropped. */
  forget(userKeys: readonly string[]): void {
    for (const k of userKeys) this.reserved.delete(k)
  }

  /** Whether anything of these users is held (the erasure test asks). */
  knows(userKeys: readonly string[]): boolean {
    return userKeys.some((k) => this.reserved.has(k) || this.contending.has(k))
  }

  check(req: SendRequest): Promise<GateDecision> {
    return new Promise((resolve, reject) => {
      const p = { req, resolve, reject }
      const window = this.opts.priorityWindowMs ?? 0
      if (window > 0 && this.opts.frequencyCap && !UNCAPPED_TOPICS.has(req.topic)) {
        // Capped sends for one user that arrive close together are decided together, so the
        // journey with the higher priority gets the slot whichever asked first.
        const group = this.contending.get(req.userKey)
        if (group) return void group.push(p)
        this.contending.set(req.userKey, [p])
        setTimeout(() => {
          const ready = this.contending.get(req.userKey) ?? []
          this.contending.delete(req.userKey)
          this.enqueue(ready)
        }, window).unref()
        return
      }
      this.enqueue([p])
    })
  }

  private enqueue(ps: Pending[]): void {
    this.pending.push(...ps)
    this.running ??= this.loop()
  }

  /** A decided send that did not happen after all (render or transport failed): free its cap slot. */
  release(userKey: string, messageId: string): void {
    this.reserved.get(userKey)?.delete(messageId)
  }

  private async loop(): Promise<void> {
    await new Promise((r) => setImmediate(r))
    while (this.pending.length) {
      const round = this.pending
      this.pending = []
      try {
        const decisions = await this.decide(round.map((p) => p.req))
        round.forEach((p, i) => p.resolve(decisions[i]!))
      } catch (err) {
        for (const p of round) p.reject(err)
      }
    }
    this.running = null
  }

  private async decide(reqs: SendRequest[]): Promise<GateDecision[]> {
    const now = this.now()
    const keys = [...new Set(reqs.map((r) => r.userKey))]
    const ids = reqs.map((r) => r.messageId)
    const cap = this.opts.frequencyCap
    const capSince = now - (cap?.windowMs ?? 0)
    const dupSince = now - (this.opts.duplicateWindowMs ?? 0)
    const recentSince = Math.min(cap ? capSince : now + 1, this.opts.duplicateWindowMs ? dupSince : now + 1)
    const exitEvents = [...new Set(reqs.flatMap((r) => r.exit.flatMap((x) => (x.type === 'event' ? [x.event] : []))))]
    const since = Math.min(...reqs.map((r) => r.trigger.timestamp))

    const conditions = reqs.flatMap((r) => (r.condition ? [r.condition.segment] : []))
    const [ledger, consent, events, traits, contacts, suppressed, memberships] = await Promise.all([
      selectRows<{
        user_key: string
        message_id: string
        status: string
        first_at: string
        topic_: string
        test_: number
        run_step: string
      }>(
        this.opts.client,
        `SELECT user_key, message_id, argMax(status, at) AS status, toUnixTimestamp64Milli(min(at)) AS first_at, any(topic) AS topic_, max(is_test) AS test_,
                concat(any(workflow_id), '\\0', any(step_id)) AS run_step
         FROM send_ledger WHERE user_key IN {keys:Array(String)} AND (message_id IN {ids:Array(String)} OR at >= fromUnixTimestamp64Milli({recentSince:Int64}))
         GROUP BY user_key, message_id`,
        { keys, ids, recentSince },
      ),
      selectRows<{ user_key: string; topic: string; granted: number }>(
        this.opts.client,
        'SELECT user_key, topic, argMax(granted, changed_at) AS granted FROM consent WHERE user_key IN {keys:Array(String)} GROUP BY user_key, topic',
        { keys },
      ),
      selectRows<{ user_key: string; message_id: string; event: string; properties: string; ts: string }>(
        this.opts.client,
        `SELECT user_key, message_id, event, properties, toUnixTimestamp64Milli(timestamp) AS ts FROM events
         WHERE user_key IN {keys:Array(String)}
           AND ((event IN {exits:Array(String)} AND timestamp >= fromUnixTimestamp64Milli({since:Int64})) OR event IN {suppress:Array(String)})`,
        { keys, exits: exitEvents, since, suppress: SUPPRESSING },
      ),
      selectRows<{ user_key: string; key: string; value: string }>(
        this.opts.client,
        'SELECT user_key, key, argMax(value, updated_at) AS value FROM traits WHERE user_key IN {keys:Array(String)} GROUP BY user_key, key',
        { keys },
      ),
      selectRows<{ user_key: string; value_enc: string; lookup: string }>(
        this.opts.client,
        `SELECT user_key, argMax(value_enc, updated_at) AS value_enc, argMax(lookup_hash, updated_at) AS lookup FROM contacts WHERE user_key IN {keys:Array(String)} AND kind = 'email' GROUP BY user_key`,
        { keys },
      ),
      // The suppression list is by address: a bounced address stays suppressed whoever it belongs to.
      selectRows<{ lookup_hash: string }>(
        this.opts.client,
        `SELECT lookup_hash FROM suppressions FINAL WHERE active = 1 AND lookup_hash IN (
           SELECT argMax(lookup_hash, updated_at) FROM contacts WHERE user_key IN {keys:Array(String)} AND kind = 'email' GROUP BY user_key)`,
        { keys },
      ),
      // Segment conditions from the store, not this process's memory: in a worker the segment
      // engine runs elsewhere, and a transition is stored before any run hears of it.
      conditions.length
        ? selectRows<{ segment_id: string; user_key: string; m: number }>(
            this.opts.client,
            `SELECT segment_id, user_key, argMax(is_member, changed_at) AS m FROM segment_membership
             WHERE segment_id IN {segments:Array(String)} AND user_key IN {keys:Array(String)} GROUP BY segment_id, user_key`,
            { segments: [...new Set(conditions)], keys },
          )
        : Promise.resolve([]),
    ])
    const suppressedHashes = new Set(suppressed.map((r) => r.lookup_hash))
    const memberNow = new Set(memberships.filter((r) => Number(r.m) === 1).map((r) => `${r.segment_id}\u0000${r.user_key}`))

    const asked = new Set(ids)
    const statusOf = new Map(ledger.filter((r) => asked.has(r.message_id)).map((r) => [r.message_id, r.status]))
    const usedByUser = new Map<string, { id: string; at: number }[]>()
    const sentByRunStep = new Map<string, { id: string; at: number }[]>()
    for (const r of ledger) {
      if (r.status !== 'sent' && r.status !== 'sending') continue
      if (Number(r.first_at) >= capSince && !UNCAPPED_TOPICS.has(r.topic_) && !Number(r.test_))
        pushTo(usedByUser, r.user_key, { id: r.message_id, at: Number(r.first_at) })
      if (Number(r.first_at) >= dupSince) pushTo(sentByRunStep, r.run_step, { id: r.message_id, at: Number(r.first_at) })
    }
    const consentOf = new Map(consent.map((r) => [`${r.user_key}\u0000${r.topic}`, Number(r.granted) === 1]))
    const eventsOf = new Map<string, JourneyEvent[]>()
    for (const e of events)
      pushTo(eventsOf, e.user_key, {
        messageId: e.message_id,
        event: e.event,
        type: 'track',
        userKey: e.user_key,
        properties: parseJsonObject(e.properties),
        timestamp: Number(e.ts),
        receivedAt: Number(e.ts),
      })
    const traitsOf = new Map<string, Record<string, unknown>>()
    for (const t of traits) (traitsOf.get(t.user_key) ?? traitsOf.set(t.user_key, {}).get(t.user_key)!)[t.key] = parseJsonText(t.value)
    const contactOf = new Map(contacts.map((c) => [c.user_key, { email: this.opts.cipher.decrypt(c.value_enc), lookupHash: c.lookup }]))

    // Higher priority first, so when two journeys compete for one slot the more important one wins.
    const order = reqs.map((_, i) => i).sort((a, b) => reqs[b]!.priority - reqs[a]!.priority || reqs[a]!.scheduledAt - reqs[b]!.scheduledAt)
    const out: GateDecision[] = new Array(reqs.length)
    for (const i of order) {
      const r = reqs[i]!
      const contact = contactOf.get(r.userKey)
      const email = contact?.email
      const recipient: Recipient = {
        ...(contact ? contact : {}),
        traits: traitsOf.get(r.userKey) ?? {},
        test: r.test || this.opts.testUserIds.has(r.userKey) || (!!email && !!this.opts.testEmailPattern?.test(email)),
      }
      const status = statusOf.get(r.messageId)
      if (this.erased(r)) out[i] = { action: 'skip', reason: 'erased', exit: true }
      else if (status === 'sent') out[i] = { action: 'already_sent' }
      // Decided before a crash, perhaps handed over: send again with the same Message-ID (the
      // transport collapses it), without deciding again.
      else if (status === 'sending') out[i] = { action: 'send', recipient, resumed: true }
      else
        out[i] = this.decideOne(r, recipient, now, {
          consent: consentOf,
          events: eventsOf.get(r.userKey) ?? [],
          used: usedByUser.get(r.userKey) ?? [],
          sameStep: sentByRunStep.get(runStep(r)) ?? [],
          conditionHolds: !r.condition || memberNow.has(`${r.condition.segment}\u0000${r.userKey}`) === r.condition.member,
          suppressed: !!contact?.lookupHash && suppressedHashes.has(contact.lookupHash),
        })
    }
    return out
  }

  private decideOne(
    r: SendRequest,
    recipient: Recipient,
    now: number,
    facts: {
      consent: Map<string, boolean>
      events: JourneyEvent[]
      used: { id: string; at: number }[]
      sameStep: { id: string; at: number }[]
      conditionHolds: boolean
      suppressed: boolean
    },
  ): GateDecision {
    const granted = facts.consent.get(`${r.userKey}\u0000${r.topic}`) ?? this.opts.consentDefaults[r.topic] ?? false
    if (!granted) return { action: 'skip', reason: 'consent', exit: true }
    const run = { userKey: r.userKey, correlationKey: r.correlationKey, correlation: r.correlation }
    for (const x of r.exit) {
      if (
        x.type === 'event' &&
        facts.events.some((e) => e.timestamp >= r.trigger.timestamp && e.messageId !== r.trigger.messageId && matchesRunEvent(x, e, run))
      )
        return { action: 'skip', reason: `exit:${x.event}`, exit: true }
      if (x.type === 'segment_exit' && !this.opts.isMember(x.segment, r.userKey))
        return { action: 'skip', reason: `left_segment:${x.segment}`, exit: true }
    }
    // The trigger re-evaluated now: a run for entering a segment sends only to a member still.
    if (r.condition && !facts.conditionHolds) return { action: 'skip', reason: `condition_false:${r.condition.segment}`, exit: true }
    const softBounces = facts.events.filter(
      (e) => e.event === ENGAGEMENT_EVENTS.bounced && e.properties.bounce_type === 'soft' && e.timestamp >= now - SOFT_BOUNCE_WINDOW_MS,
    ).length
    const suppressed =
      facts.suppressed ||
      softBounces >= (this.opts.softBounceLimit ?? 3) ||
      facts.events.some(
        (e) =>
          e.event === ENGAGEMENT_EVENTS.complained ||
          (e.event === ENGAGEMENT_EVENTS.bounced && (e.properties.bounce_type ?? 'hard') !== 'soft'),
      )
    if (suppressed) return { action: 'skip', reason: 'suppressed', exit: true }
    if (!recipient.email) return { action: 'skip', reason: 'no_address', exit: true }
    if (!recipient.test && this.opts.inGlobalHoldout(r.userKey)) return { action: 'skip', reason: 'global_holdout', exit: true }
    if (this.isDuplicate(r, now, facts.sameStep)) return { action: 'skip', reason: 'duplicate', exit: true }
    if (UNCAPPED_TOPICS.has(r.topic)) return this.reserve(r, recipient, now)
    const quiet = this.opts.quietHours
    if (quiet && !recipient.test) {
      const tz = isTimeZone(recipient.traits.timezone) ? recipient.traits.timezone : this.opts.quietHoursTz
      const wait = msUntilInside(now, tz, quiet.to, quiet.from)
      if (wait > 0) return { action: 'defer', reason: 'quiet_hours', until: now + wait }
    }
    const cap = this.opts.frequencyCap
    if (cap && !recipient.test) {
      const used = new Map(facts.used.map((u) => [u.id, u.at]))
      for (const [id, { at }] of this.reserved.get(r.userKey) ?? []) if (at >= now - cap.windowMs) used.set(id, at)
      used.delete(r.messageId)
      if (used.size >= cap.max) {
        if (this.opts.capMode === 'skip') return { action: 'skip', reason: 'frequency_cap', exit: false }
        const oldest = [...used.values()].sort((a, b) => a - b)[used.size - cap.max]!
        return { action: 'defer', reason: 'frequency_cap', until: oldest + cap.windowMs + 1 }
      }
    }
    return this.reserve(r, recipient, now)
  }

  private reserve(r: SendRequest, recipient: Recipient, now: number): GateDecision {
    let mine = this.reserved.get(r.userKey)
    if (!mine) this.reserved.set(r.userKey, (mine = new Map()))
    mine.set(r.messageId, { at: now, runStep: runStep(r) })
    // Keep the map small: forget reservations the ledger certainly shows by now.
    if (this.reserved.size > 50_000)
      for (const [k, m] of this.reserved) if ([...m.values()].every((v) => v.at < now - 60_000)) this.reserved.delete(k)
    return { action: 'send', recipient, resumed: false }
  }

  /**
   * An earlier run of this id (same journey, user and key) sent this step within the window. Only
   * sends from before this run's trigger count: a step this run visits again (a loop) is its own.
   */
  private isDuplicate(r: SendRequest, now: number, sameStep: { id: string; at: number }[]): boolean {
    const window = this.opts.duplicateWindowMs
    if (!window || r.correlation === undefined) return false
    const before = r.trigger.receivedAt
    if (sameStep.some((s) => s.id !== r.messageId && s.at < before)) return true
    const key = runStep(r)
    for (const [id, v] of this.reserved.get(r.userKey) ?? [])
      if (id !== r.messageId && v.runStep === key && v.at >= now - window && v.at < before) return true
    return false
  }
}

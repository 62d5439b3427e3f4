import { type SendFactSources, readRoundFacts } from './sendFacts.js'
import { type SendFacts, type SendPolicy, decideSend, runStep, UNCAPPED_TOPICS } from './sendDecision.js'
import type { GateDecision, Recipient, SendRequest } from './sendRequest.js'
import { membershipKey } from '../segments/membershipReads.js'
import { consentKey } from '../ingest/identity/consentRecords.js'

export interface GateOptions extends SendPolicy {
  /** Where the facts are read: each table through the module that owns it. */
  reads: SendFactSources
  /** How long a capped send waits for competing sends to the same user (priority decides). */
  priorityWindowMs?: number
  testUserIds: ReadonlySet<string>
  testEmailPattern?: RegExp
  isMember(segmentId: string, userKey: string): boolean
  inGlobalHoldout(userKey: string): boolean
  /**
   * Whether the user was erased after this run's trigger (the erasure's tombstones): such a run
   * belongs to the erased person and must neither send nor record anything.
   */
  isErased?: (userKey: string, triggeredAt: number) => boolean
  now?: () => number
}

interface Pending {
  req: SendRequest
  resolve: (d: GateDecision) => void
  reject: (err: unknown) => void
}

/**
 * The check right before every send, against the store (so it holds across processes): the send
 * ledger (a retried send never mails twice), consent for the message's topic, the journey's exit
 * criteria (a conversion that arrived a millisecond ago), suppression, the global holdout, quiet
 * hours and the frequency cap. Checks that arrive together share one round of reads
 * (sendFacts.ts), so a burst of sends costs a handful of queries, not a handful per send; each
 * is then decided by the pure decideSend (sendDecision.ts), in priority order.
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
    const o = this.opts
    const facts = await readRoundFacts(o.reads, reqs, now, { capMs: o.frequencyCap?.windowMs, duplicateMs: o.duplicateWindowMs })
    // Higher priority first, so when two journeys compete for one slot the more important one wins.
    const order = reqs.map((_, i) => i).sort((a, b) => reqs[b]!.priority - reqs[a]!.priority || reqs[a]!.scheduledAt - reqs[b]!.scheduledAt)
    const out: GateDecision[] = new Array(reqs.length)
    for (const i of order) {
      const r = reqs[i]!
      const contact = facts.contacts.get(r.userKey)
      const email = contact?.email
      const recipient: Recipient = {
        ...(contact ? contact : {}),
        traits: facts.traits.get(r.userKey) ?? {},
        test: r.test || o.testUserIds.has(r.userKey) || (!!email && !!o.testEmailPattern?.test(email)),
      }
      const decision = decideSend(r, this.factsFor(r, recipient, facts), o, now)
      if (decision.action === 'send' && !decision.resumed) this.reserve(r, now)
      out[i] = decision.action === 'send' ? { ...decision, recipient } : decision
    }
    return out
  }

  /** One request's facts: what the round read, this process's memory (segments, reservations), the holdout. */
  private factsFor(r: SendRequest, recipient: Recipient, facts: Awaited<ReturnType<typeof readRoundFacts>>): SendFacts {
    const exitSegments = r.exit.flatMap((x) => (x.type === 'segment_exit' ? [x.segment] : []))
    return {
      erased: this.erased(r),
      ledgerStatus: facts.statusOf.get(r.messageId),
      granted: facts.grants.get(consentKey(r.userKey, r.topic)),
      events: facts.events.get(r.userKey) ?? [],
      memberOf: new Set(exitSegments.filter((s) => this.opts.isMember(s, r.userKey))),
      conditionHolds: !r.condition || facts.members.has(membershipKey(r.condition.segment, r.userKey)) === r.condition.member,
      listSuppressed: !!recipient.lookupHash && facts.suppressedHashes.has(recipient.lookupHash),
      hasAddress: !!recipient.email,
      test: recipient.test,
      timeZone: recipient.traits.timezone,
      inGlobalHoldout: this.opts.inGlobalHoldout(r.userKey),
      capUsed: facts.capUsed.get(r.userKey) ?? [],
      sameStep: facts.sameStep.get(runStep(r)) ?? [],
      reserved: [...(this.reserved.get(r.userKey) ?? [])].map(([id, v]) => ({ id, ...v })),
    }
  }

  private reserve(r: SendRequest, now: number): void {
    let mine = this.reserved.get(r.userKey)
    if (!mine) this.reserved.set(r.userKey, (mine = new Map()))
    mine.set(r.messageId, { at: now, runStep: runStep(r) })
    // Keep the map small: forget reservations the ledger certainly shows by now.
    if (this.reserved.size > 50_000)
      for (const [k, m] of this.reserved) if ([...m.values()].every((v) => v.at < now - 60_000)) this.reserved.delete(k)
  }
}

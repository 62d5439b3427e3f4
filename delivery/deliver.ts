import { createHash } from 'node:crypto'
import type { TemplateStore } from '../content/templateStore.js'
import { type TrackingConfig, composeMessage, messageUrls } from './composeMessage.js'
import { type Behavior, type Product, type RecommendationBlock, buildRenderContext } from '../content/renderContext.js'
import { TemplateRenderError } from '../content/renderTemplate.js'
import type { MessageLookup } from './engagement/messageLookup.js'
import type { OutcomeRecorder } from './engagement/outcomes.js'
import type { JourneyRecorder } from '../journeys/journeyRecorder.js'
import type { SendGate } from './sendGate.js'
import type { GateDecision, Recipient, SendRequest } from './sendRequest.js'
import type { MailTransport } from './transport.js'
import { OneAtATime } from '../core/oneAtATime.js'

export interface DeliverResult {
  status: 'sent' | 'skipped' | 'deferred'
  reason?: string
  /** Deferred: when to ask again (ms). */
  until?: number
  /** Skipped for a reason that ends the run (opt-out, conversion, suppression, …). */
  exit?: boolean
  /** The run's end was recorded with this send (a last step that was not deferred). */
  ended?: boolean
}

export interface DelivererOptions {
  gate: SendGate
  recorder: JourneyRecorder
  templates: TemplateStore
  transport: MailTransport
  /** Computed properties for templates that read them (a query; only then). */
  computed?: (userKey: string) => Promise<Record<string, unknown>>
  tracking: TrackingConfig
  recommend?: (userKey: string, block: RecommendationBlock, productId?: string) => Product[]
  /** Before a render that reads recommendations or behaviour: bring the user's behaviour up to date (worker-only processes). */
  prepareUser?: (userKey: string) => Promise<void>
  behavior?: (userKey: string) => Behavior
  /** Where a message's extras go: its body (view in browser), its discount code, its delivery. */
  extras?: { bodies: (row: Record<string, unknown>) => Promise<void>; codes: (row: Record<string, unknown>) => Promise<void> }
  outcomes?: OutcomeRecorder
  messages?: MessageLookup
}

/**
 * One send, exactly once: check (ledger, consent, exits, suppression, holdout, quiet hours, cap)
 * → ledger `sending` → render → hand to the transport with the message id as Message-ID →
 * ledger `sent`. A retry after a crash finds the ledger row and either returns (`sent`) or hands
 * the same message over again (`sending`: the transport collapses it by Message-ID).
 */
export class Deliverer {
  private readonly observers: ((req: SendRequest, result: DeliverResult) => void)[] = []

  constructor(private readonly opts: DelivererOptions) {}

  /** Observes every outcome (metrics). */
  observe(fn: (req: SendRequest, result: DeliverResult) => void): void {
    this.observers.push(fn)
  }

  private readonly failureObservers: ((req: SendRequest, err: unknown) => void)[] = []

  /** Observes sends that failed (the activity retries them): metrics. */
  observeFailures(fn: (req: SendRequest, err: unknown) => void): void {
    this.failureObservers.push(fn)
  }

  private readonly inFlight = new Set<Promise<unknown>>()
  /** The delivery under way for each message id (see `deliver`). */
  private readonly byMessage = new Map<string, Promise<DeliverResult>>()
  private readonly renders = new OneAtATime()

  /**
   * Waits for the deliveries under way now (not for later ones). An erasure writes its tombstone
   * (no new send of the person starts), then waits here, so a send that passed the check just
   * before lands in the store before the store is erased.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }

  /**
   * A second attempt of a message whose first is still under way here (its activity timed out, or
   * its run was replayed before the first attempt's result was recorded) waits for that one and
   * shares its result: one message is checked, rendered and handed over once, however many
   * attempts ask, and a slow burst is not made slower by repeating its own work.
   */
  deliver(req: SendRequest): Promise<DeliverResult> {
    const running = this.byMessage.get(req.messageId)
    if (running) return running
    const p = this.observed(req).finally(() => this.byMessage.delete(req.messageId))
    this.byMessage.set(req.messageId, p)
    return p
  }

  private async observed(req: SendRequest): Promise<DeliverResult> {
    let result: DeliverResult
    const once = this.deliverOnce(req)
    this.inFlight.add(once)
    try {
      result = await once
    } catch (err) {
      for (const o of this.failureObservers) o(req, err)
      throw err
    } finally {
      this.inFlight.delete(once)
    }
    for (const o of this.observers) o(req, result)
    return result
  }

  private async deliverOnce(req: SendRequest): Promise<DeliverResult> {
    const { gate, recorder } = this.opts
    // The run of an erased person: nothing is sent, and nothing of it is recorded (not even a skip).
    if (gate.erased(req)) return { status: 'skipped', reason: 'erased', exit: true, ended: true }
    const [decision] = await Promise.all([gate.check(req), req.records ? recorder.all(req.records) : undefined])
    if (decision.action !== 'send') return this.notSent(req, decision)
    try {
      return await this.send(req, decision.recipient, decision.resumed)
    } catch (err) {
      gate.release(req.userKey, req.messageId)
      throw err
    }
  }

  /** The check said no, or not yet: recorded as the run's step (and its end, on a last step). */
  private async notSent(req: SendRequest, decision: Exclude<GateDecision, { action: 'send' }>): Promise<DeliverResult> {
    const { recorder } = this.opts
    if (decision.action === 'already_sent') {
      await this.endRun(req, 'completed', req.test)
      return { status: 'sent', reason: 'already_sent', ended: !!req.last }
    }
    if (decision.action === 'skip' && decision.reason === 'erased') return { status: 'skipped', reason: 'erased', exit: true, ended: true }
    if (decision.action === 'skip') {
      await Promise.all([
        recorder.step({ ...stepRecord(req), outcome: 'skipped', reason: decision.reason, test: req.test }),
        this.endRun(req, decision.exit ? decision.reason : 'completed', req.test),
      ])
      return { status: 'skipped', reason: decision.reason, exit: decision.exit, ended: !!req.last }
    }
    await recorder.step({ ...stepRecord(req), outcome: 'deferred', reason: decision.reason, test: req.test })
    return { status: 'deferred', reason: decision.reason, until: decision.until }
  }

  /** A last step records the run's end with its send (or skip). */
  private async endRun(req: SendRequest, outcome: string, test: boolean): Promise<void> {
    if (!req.last) return
    await this.opts.recorder.run({
      workflowId: req.workflowId,
      journeyId: req.journeyId,
      journeyVersion: req.journeyVersion,
      userKey: req.userKey,
      correlation: req.correlation ?? '',
      phase: 'ended',
      outcome,
      trigger: req.trigger,
      test,
    })
  }

  /** Render → ledger `sending` and the extras → hand over → ledger `sent`, the step, the outcome. */
  private async send(req: SendRequest, recipient: Recipient, resumed: boolean): Promise<DeliverResult> {
    const { recorder } = this.opts
    const test = recipient.test
    const code = discountCode(req.messageId)
    const rendered = await this.render(req, recipient, code)
    if (!rendered) {
      this.opts.gate.release(req.userKey, req.messageId)
      await Promise.all([
        recorder.step({ ...stepRecord(req), outcome: 'skipped', reason: 'template_error', test: req.test }),
        this.endRun(req, 'template_error', req.test),
      ])
      return { status: 'skipped', reason: 'template_error', ended: !!req.last }
    }
    const composed = composeMessage(this.opts.tracking, {
      messageId: req.messageId,
      userKey: req.userKey,
      topic: req.topic,
      html: rendered.html,
    })
    const ledger = ledgerRecord(req, recipient, rendered)
    await Promise.all([
      resumed ? undefined : recorder.send({ ...ledger, status: 'sending' }),
      this.storeExtras(req, composed.html, rendered.html.includes(code) ? code : undefined),
    ])
    await this.opts.transport.send({
      messageId: req.messageId,
      to: recipient.email!,
      subject: rendered.subject,
      html: composed.html,
      text: rendered.text,
      test,
      headers: composed.headers,
    })
    const info = {
      messageId: req.messageId,
      userKey: req.userKey,
      journeyId: req.journeyId,
      stepId: req.stepId,
      template: req.template,
      topic: req.topic,
      experimentKey: req.experimentKey ?? '',
      variant: req.variant ?? '',
      recipientHash: recipient.lookupHash ?? '',
      sentAt: Date.now(),
      test,
    }
    this.opts.messages?.remember(info)
    await Promise.all([
      recorder.send({ ...ledger, status: 'sent' }),
      recorder.step({ ...stepRecord(req), outcome: 'sent', test }),
      this.endRun(req, 'completed', test),
      this.opts.outcomes?.record({ kind: 'delivered', message: info, at: info.sentAt }),
    ])
    return { status: 'sent', ended: !!req.last }
  }

  /**
   * The message rendered for this recipient, or undefined when the template cannot render for
   * them: retrying would fail the same way, and half an email is worse than none. A render that
   * only ran out of wall-clock time is retried (bounded) like any other transient failure.
   */
  private async render(req: SendRequest, recipient: Recipient, code: string) {
    const o = this.opts
    const computed = o.computed && o.templates.usesComputed(req.template) ? await o.computed(req.userKey) : undefined
    if (o.prepareUser && (o.templates.reads(req.template, 'recommendations') || o.templates.reads(req.template, 'behavior')))
      await o.prepareUser(req.userKey)
    try {
      return await this.renders.run(() =>
        o.templates.render(
          req.template,
          buildRenderContext({
            userKey: req.userKey,
            email: recipient.email,
            traits: recipient.traits,
            ...(computed ? { computed } : {}),
            trigger: { event: req.trigger.event, properties: req.trigger.properties, timestamp: req.trigger.timestamp },
            journey: { id: req.journeyId, step: req.stepId },
            experiment: { key: req.experimentKey, variant: req.variant },
            message: { id: req.messageId, discountCode: code },
            urls: messageUrls(o.tracking, { messageId: req.messageId, userKey: req.userKey, topic: req.topic }),
            ...(o.recommend ? { recommend: (b: RecommendationBlock, p?: string) => o.recommend!(req.userKey, b, p) } : {}),
            ...(o.behavior && o.templates.reads(req.template, 'behavior') ? { behavior: o.behavior(req.userKey) } : {}),
          }),
          req.subject,
        ),
      )
    } catch (err) {
      if (!(err instanceof TemplateRenderError) || err.transient) throw err
      return undefined
    }
  }

  /** The body (view in browser) and, when the message shows it, the discount code: stored before the handover. */
  private async storeExtras(req: SendRequest, html: string, code: string | undefined): Promise<void> {
    const extras = this.opts.extras
    if (!extras) return
    const now = Date.now()
    await Promise.all([
      extras.bodies({ message_id: req.messageId, user_key: req.userKey, html, created_at: now }),
      code
        ? extras.codes({
            code,
            message_id: req.messageId,
            user_key: req.userKey,
            journey_id: req.journeyId,
            template: req.template,
            created_at: now,
          })
        : undefined,
    ])
  }
}

/** The run's step as recorded (the outcome and reason are added). */
function stepRecord(req: SendRequest) {
  return {
    workflowId: req.workflowId,
    journeyId: req.journeyId,
    journeyVersion: req.journeyVersion,
    userKey: req.userKey,
    stepId: req.stepId,
    stepType: 'send',
    experimentKey: req.experimentKey,
    variant: req.variant,
    flags: req.flags,
    messageId: req.messageId,
    scheduledAt: req.scheduledAt,
  }
}

/** The send ledger's row for this message (the status is added). */
function ledgerRecord(req: SendRequest, recipient: Recipient, rendered: { version: number; subject: string }) {
  return {
    messageId: req.messageId,
    workflowId: req.workflowId,
    journeyId: req.journeyId,
    stepId: req.stepId,
    userKey: req.userKey,
    recipientHash: recipient.lookupHash ?? '',
    template: req.template,
    templateVersion: rendered.version,
    subject: rendered.subject,
    topic: req.topic,
    priority: req.priority,
    experimentKey: req.experimentKey,
    variant: req.variant,
    scheduledAt: req.scheduledAt,
    test: recipient.test,
  }
}

/** A per-message code (stable across retries): what a cart reminder offers. */
export function discountCode(messageId: string): string {
  return `SAVE-${createHash('sha256').update(messageId).digest('hex').slice(0, 8).toUpperCase()}`
}

import { createHash } from 'node:crypto'
import type { TemplateStore } from '../content/templateStore.js'
import { type TrackingConfig, composeMessage, messageUrls } from './composeMessage.js'
import { type Behavior, type Product, type RecommendationBlock, buildRenderContext } from '../content/renderContext.js'
import { TemplateRenderError } from '../content/renderTemplate.js'
import type { MessageLookup } from './engagement/messageLookup.js'
import type { OutcomeRecorder } from './engagement/outcomes.js'
import type { JourneyRecorder } from '../journeys/journeyRecorder.js'
import type { SendGate, SendRequest } from './sendGate.js'
import type { MailTransport } from './transport.js'

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

  /**
   * Waits for the deliveries under way now (not for later ones). An erasure writes its tombstone
   * (no new send of the person starts), then waits here, so a send that passed the check just
   * before lands in the store before the store is erased.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight])
  }

  async deliver(req: SendRequest): Promise<DeliverResult> {
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
    const step = {
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
    const end = (outcome: string, test: boolean) =>
      req.last
        ? recorder.run({
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
        : undefined
    if (decision.action === 'already_sent') {
      await end('completed', req.test)
      return { status: 'sent', reason: 'already_sent', ended: !!req.last }
    }
    if (decision.action === 'skip' && decision.reason === 'erased') return { status: 'skipped', reason: 'erased', exit: true, ended: true }
    if (decision.action === 'skip') {
      await Promise.all([
        recorder.step({ ...step, outcome: 'skipped', reason: decision.reason, test: req.test }),
        end(decision.exit ? decision.reason : 'completed', req.test),
      ])
      return { status: 'skipped', reason: decision.reason, exit: decision.exit, ended: !!req.last }
    }
    if (decision.action === 'defer') {
      await recorder.step({ ...step, outcome: 'deferred', reason: decision.reason, test: req.test })
      return { status: 'deferred', reason: decision.reason, until: decision.until }
    }
    const { recipient } = decision
    const test = recipient.test
    try {
      const computed =
        this.opts.computed && this.opts.templates.usesComputed(req.template) ? await this.opts.computed(req.userKey) : undefined
      if (
        this.opts.prepareUser &&
        (this.opts.templates.reads(req.template, 'recommendations') || this.opts.templates.reads(req.template, 'behavior'))
      )
        await this.opts.prepareUser(req.userKey)
      const topic = req.topic
      const code = discountCode(req.messageId)
      let rendered
      try {
        rendered = await this.opts.templates.render(
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
            urls: messageUrls(this.opts.tracking, { messageId: req.messageId, userKey: req.userKey, topic }),
            ...(this.opts.recommend ? { recommend: (b: RecommendationBlock, p?: string) => this.opts.recommend!(req.userKey, b, p) } : {}),
            ...(this.opts.behavior && this.opts.templates.reads(req.template, 'behavior')
              ? { behavior: this.opts.behavior(req.userKey) }
              : {}),
          }),
          req.subject,
        )
      } catch (err) {
        // A template that cannot render for this user skips the send (recorded with the reason):
        // retrying would fail the same way, and half an email is worse than none. A render that
        // only ran out of wall-clock time is retried (bounded) like any other transient failure.
        if (!(err instanceof TemplateRenderError) || err.transient) throw err
        gate.release(req.userKey, req.messageId)
        await Promise.all([
          recorder.step({ ...step, outcome: 'skipped', reason: 'template_error', test: req.test }),
          end('template_error', req.test),
        ])
        return { status: 'skipped', reason: 'template_error', ended: !!req.last }
      }
      const composed = composeMessage(this.opts.tracking, { messageId: req.messageId, userKey: req.userKey, topic, html: rendered.html })
      const ledger = {
        messageId: req.messageId,
        workflowId: req.workflowId,
        journeyId: req.journeyId,
        stepId: req.stepId,
        userKey: req.userKey,
        recipientHash: recipient.lookupHash ?? '',
        template: req.template,
        templateVersion: rendered.version,
        subject: rendered.subject,
        topic,
        priority: req.priority,
        experimentKey: req.experimentKey,
        variant: req.variant,
        scheduledAt: req.scheduledAt,
        test,
      }
      const now = Date.now()
      await Promise.all([
        decision.resumed ? undefined : recorder.send({ ...ledger, status: 'sending' }),
        this.opts.extras?.bodies({ message_id: req.messageId, user_key: req.userKey, html: composed.html, created_at: now }),
        rendered.html.includes(code)
          ? this.opts.extras?.codes({
              code,
              message_id: req.messageId,
              user_key: req.userKey,
              journey_id: req.journeyId,
              template: req.template,
              created_at: now,
            })
          : undefined,
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
        topic,
        experimentKey: req.experimentKey ?? '',
        variant: req.variant ?? '',
        recipientHash: recipient.lookupHash ?? '',
        sentAt: Date.now(),
        test,
      }
      this.opts.messages?.remember(info)
      await Promise.all([
        recorder.send({ ...ledger, status: 'sent' }),
        recorder.step({ ...step, outcome: 'sent', test }),
        end('completed', test),
        this.opts.outcomes?.record({ kind: 'delivered', message: info, at: info.sentAt }),
      ])
      return { status: 'sent', ended: !!req.last }
    } catch (err) {
      gate.release(req.userKey, req.messageId)
      throw err
    }
  }
}

/** A per-message code (stable across retries): what a cart reminder offers. */
export function discountCode(messageId: string): string {
  return `SAVE-${createHash('sha256').update(messageId).digest('hex').slice(0, 8).toUpperCase()}`
}

import { createHash } from 'node:crypto'
import type { TemplateStore } from '../../content/templateStore.js'
import type { JourneyRecorder } from '../journeyRecorder.js'
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

  async deliver(req: SendRequest): Promise<DeliverResult> {
    const result = await this.deliverOnce(req)
    for (const o of this.observers) o(req, result)
    return result
  }

  private async deliverOnce(req: SendRequest): Promise<DeliverResult> {
    const { gate, recorder } = this.opts
    const [decision] = await Promise.all([gate.check(req), req.records ? recorder.all(req.records) : undefined])
    const step = { workflowId: req.workflowId, journeyId: req.journeyId, journeyVersion: req.journeyVersion, userKey: req.userKey, stepId: req.stepId, stepType: 'send', experimentKey: req.experimentKey, variant: req.variant, flags: req.flags, messageId: req.messageId, scheduledAt: req.scheduledAt }
    const end = (outcome: string, test: boolean) =>
      req.last ? recorder.run({ workflowId: req.workflowId, journeyId: req.journeyId, journeyVersion: req.journeyVersion, userKey: req.userKey, correlation: req.correlation ?? '', phase: 'ended', outcome, trigger: req.trigger, test }) : undefined
    if (decision.action === 'already_sent') {
      await end('completed', req.test)
      return { status: 'sent', reason: 'already_sent', ended: !!req.last }
    }
    if (decision.action === 'skip') {
      await Promise.all([recorder.step({ ...step, outcome: 'skipped', reason: decision.reason, test: req.test }), end(decision.exit ? decision.reason : 'completed', req.test)])
      return { status: 'skipped', reason: decision.reason, exit: decision.exit, ended: !!req.last }
    }
    if (decision.action === 'defer') {
      await recorder.step({ ...step, outcome: 'deferred', reason: decision.reason, test: req.test })
      return { status: 'deferred', reason: decision.reason, until: decision.until }
    }
    const { recipient } = decision
    const test = recipient.test
    try {
      const computed = this.opts.computed && this.opts.templates.usesComputed(req.template) ? await this.opts.computed(req.userKey) : undefined
      const rendered = await this.opts.templates.render(
        req.template,
        {
          user: { id: req.userKey, email: recipient.email, ...recipient.traits },
          event: { name: req.trigger.event, properties: req.trigger.properties, timestamp: new Date(req.trigger.timestamp).toISOString() },
          message: { id: req.messageId, journey: req.journeyId, step: req.stepId, variant: req.variant ?? '', discount_code: discountCode(req.messageId) },
          ...(computed ? { computed } : {}),
        },
        req.subject,
      )
      const ledger = {
        messageId: req.messageId,
        workflowId: req.workflowId,
        journeyId: req.journeyId,
        stepId: req.stepId,
        userKey: req.userKey,
        recipientHash: recipient.lookupHash ?? '',
        template: req.template,
        subject: rendered.subject,
        topic: req.topic,
        priority: req.priority,
        experimentKey: req.experimentKey,
        variant: req.variant,
        scheduledAt: req.scheduledAt,
        test,
      }
      if (!decision.resumed) await recorder.send({ ...ledger, status: 'sending' })
      await this.opts.transport.send({ messageId: req.messageId, to: recipient.email!, subject: rendered.subject, html: rendered.html, text: rendered.text, test })
      await Promise.all([recorder.send({ ...ledger, status: 'sent' }), recorder.step({ ...step, outcome: 'sent', test }), end('completed', test)])
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

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
  constructor(private readonly opts: DelivererOptions) {}

  async deliver(req: SendRequest): Promise<DeliverResult> {
    const { gate, recorder } = this.opts
    const [decision] = await Promise.all([gate.check(req), req.records ? recorder.all(req.records) : undefined])
    const step = { workflowId: req.workflowId, journeyId: req.journeyId, journeyVersion: req.journeyVersion, userKey: req.userKey, stepId: req.stepId, stepType: 'send', experimentKey: req.experimentKey, variant: req.variant, flags: req.flags, messageId: req.messageId, scheduledAt: req.scheduledAt }
    if (decision.action === 'already_sent') return { status: 'sent', reason: 'already_sent' }
    if (decision.action === 'skip') {
      await recorder.step({ ...step, outcome: 'skipped', reason: decision.reason, test: req.test })
      return { status: 'skipped', reason: decision.reason, exit: decision.exit }
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
        recipientHash: createHash('sha256').update(recipient.email!.toLowerCase()).digest('hex').slice(0, 32),
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
      await recorder.send({ ...ledger, status: 'sent' })
      await recorder.step({ ...step, outcome: 'sent', test })
      return { status: 'sent' }
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

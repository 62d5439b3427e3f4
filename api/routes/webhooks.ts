import { type NextFunction, type Request, type Response, Router } from 'express'
import type { MessageLookup } from '../../delivery/engagement/messageLookup.js'
import type { OutcomeRecorder } from '../../delivery/engagement/outcomes.js'
import type { SuppressionList } from '../../delivery/engagement/suppressions.js'
import {
  type WebhookProvider,
  normalizeWebhook,
  nudgeWebhookSchema,
  sendGridEventsSchema,
  snsEnvelopeSchema,
} from '../../delivery/webhooks/webhookFormats.js'
import { z } from 'zod'
import { type RouteSpec, replyTo } from '../route.js'
import { errorBody, NotFoundError, UnauthorizedError } from '../../core/errors.js'
import type { SnsVerifier } from '../../delivery/webhooks/snsSignature.js'
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER } from '../../delivery/webhooks/sendGridSignature.js'
import { safeEqual, webhookKeyFrom } from '../auth.js'
import { readBody } from '../body.js'
import { boundedMessageId } from '../../core/boundedId.js'

const PROVIDERS: WebhookProvider[] = ['nudge', 'ses', 'sendgrid']

/** Documented here (the handler reads the body as text: SNS posts JSON as text/plain). */
export const webhookSpecs = {
  report: {
    method: 'post',
    path: '/webhooks/email/:provider',
    summary:
      'Bounce and complaint reports: nudge ({ events: [...] }), ses (SNS notifications, signature verified; confirms the subscription), sendgrid (Event Webhook; Signed Event Webhook verified when SENDGRID_WEBHOOK_PUBLIC_KEY is set). Key: WEBHOOK_KEY as X-Nudge-Webhook-Key, Bearer, or HTTP Basic password — never in the URL',
    tag: 'Deliverability',
    auth: 'none',
    params: z.object({ provider: z.enum(['nudge', 'ses', 'sendgrid']) }),
    documentedBody: z.union([nudgeWebhookSchema, snsEnvelopeSchema, sendGridEventsSchema]),
    responses: {
      200: {
        description: 'Recorded (`received`, `matched`, `suppressed`), or for an SNS subscription confirmation whether it was confirmed',
        schema: z.union([
          z.object({ received: z.number(), matched: z.number(), suppressed: z.number() }),
          z.object({ confirmed: z.boolean() }),
        ]),
      },
      400: { description: 'Invalid payload (the field is named)', schema: errorBody },
      401: { description: 'Missing or wrong key, a key in the URL, or a signature that does not verify', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

export interface WebhookRouteDeps {
  /** WEBHOOK_KEY, the only key accepted (never the admin key); unset: every report is refused. */
  key: string | undefined
  /** SES reports come through SNS: each message's signature is verified. */
  sns: SnsVerifier
  /** With SENDGRID_WEBHOOK_PUBLIC_KEY: verifies the Signed Event Webhook over the raw body. */
  sendGrid?: (headers: { signature?: string; timestamp?: string }, rawBody: Buffer) => void
  messages: MessageLookup
  outcomes: OutcomeRecorder
  suppressions: SuppressionList
  log?: (msg: string, extra?: Record<string, unknown>) => void
  now?: () => number
}

/**
 * Bounce and complaint reports from the ESP: `POST /webhooks/email/{nudge|ses|sendgrid}`. Each
 * report becomes an outcome of its message (found by our Message-ID, else the address's latest
 * message) and the user's event; a hard bounce or a complaint puts the address on the suppression
 * list at once, soft bounces count (the pre-send check suppresses after SOFT_BOUNCE_LIMIT).
 */
export function webhooksRouter(d: WebhookRouteDeps): Router {
  const r = Router()
  const now = d.now ?? Date.now
  // The key first, so an unauthenticated request never has its body read.
  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    const provider = String(req.params.provider) as WebhookProvider
    if (!PROVIDERS.includes(provider)) return next(new NotFoundError(`No webhook format "${provider}" (use ${PROVIDERS.join(', ')})`))
    const refuse = (message: string) => {
      // SNS sends the credentials of its endpoint URL (https://nudge:<key>@host/…) after a Basic challenge.
      res.setHeader('WWW-Authenticate', 'Basic realm="nudge-webhooks"')
      next(new UnauthorizedError(message))
    }
    if (req.query.key !== undefined)
      return refuse(
        'A key in the URL is refused (it lands in logs): send WEBHOOK_KEY as X-Nudge-Webhook-Key, Bearer or HTTP Basic password',
      )
    if (!d.key) return refuse('Webhooks are off: set WEBHOOK_KEY')
    const key = webhookKeyFrom(req)
    if (!key || !safeEqual(d.key, key))
      return refuse('A valid webhook key is required: WEBHOOK_KEY as X-Nudge-Webhook-Key, Bearer or HTTP Basic password')
    next()
  }
  // The body layer parses JSON of any content type (SNS posts it as text/plain) and keeps the
  // exact bytes in req.rawBody: SendGrid signs the body exactly as sent.
  r.post('/webhooks/email/:provider', authenticate, readBody({ limitBytes: 2 * 1024 * 1024, rawBody: true }), async (req, res, next) => {
    try {
      const provider = String(req.params.provider) as WebhookProvider
      const raw = req.rawBody ?? Buffer.alloc(0)
      if (provider === 'sendgrid' && d.sendGrid)
        d.sendGrid({ signature: req.get(SENDGRID_SIGNATURE_HEADER), timestamp: req.get(SENDGRID_TIMESTAMP_HEADER) }, raw)
      const body: unknown = req.body ?? null
      // Only SNS's signature says an SES report is SES's: an unsigned (raw delivery) body is refused.
      if (provider === 'ses') await d.sns.verify(body)
      const result = normalizeWebhook(provider, body, now())
      if (result.subscriptionConfirmation) {
        // Confirming the SNS subscription is one GET of the (signed, SNS-host) SubscribeURL.
        const confirmed = await d.sns.confirm(result.subscriptionConfirmation.subscribeUrl).then(
          () => true,
          (err) => (d.log?.('SNS subscription not confirmed', { err: String(err) }), false),
        )
        replyTo(webhookSpecs.report, res)(200, { confirmed })
        return
      }
      let matched = 0
      let suppressed = 0
      for (const e of result.events) {
        const hash = e.email ? d.suppressions.hashOf(e.email) : undefined
        // Erased mail: no outcome, no event (the address is still suppressed below: that protects it, not the person).
        const erased = !!e.messageId && d.outcomes.dropsErased(e.kind, e.messageId)
        const message = erased
          ? undefined
          : ((e.messageId ? await d.messages.get(e.messageId) : undefined) ?? (hash ? await d.messages.latestTo(hash) : undefined))
        if (message) {
          matched++
          await d.outcomes.record({
            kind: e.kind === 'bounce' ? 'bounce' : e.kind === 'complaint' ? 'complaint' : 'delivered',
            message,
            at: e.at,
            provider: e.provider,
            ...(e.bounceType ? { bounceType: e.bounceType } : {}),
            // One report delivered again (a retry, an SNS redelivery, a replay) is one event.
            reportId: boundedMessageId(`report:${e.provider}:${e.kind}:${e.bounceType ?? ''}:${message.messageId}:${e.at}`),
          })
        }
        const address = hash ?? message?.recipientHash
        if (address && (e.kind === 'complaint' || (e.kind === 'bounce' && e.bounceType === 'hard'))) {
          await d.suppressions.add(address, e.kind === 'complaint' ? 'complaint' : 'hard_bounce', e.provider)
          suppressed++
        }
      }
      replyTo(webhookSpecs.report, res)(200, { received: result.events.length, matched, suppressed })
    } catch (err) {
      next(err)
    }
  })
  return r
}

import { Router } from 'express'
import type { MessageLookup } from '../../content/engagement/messageLookup.js'
import type { OutcomeRecorder } from '../../content/engagement/outcomes.js'
import type { SuppressionList } from '../../content/engagement/suppressions.js'
import { type WebhookProvider, normalizeWebhook, nudgeWebhookSchema, sendGridEventsSchema, snsEnvelopeSchema } from '../../content/tracking/webhookFormats.js'
import { z } from 'zod'
import type { RouteSpec } from '../route.js'
import { errorBody } from '../schemas/common.js'
import { NotFoundError, UnauthorizedError } from '../../core/errors.js'
import { readBody } from '../body.js'
import { safeEqual } from '../auth.js'

const PROVIDERS: WebhookProvider[] = ['nudge', 'ses', 'sendgrid']

/** Documented here (the handler reads the body as text: SNS posts JSON as text/plain). */
export const webhookSpecs = {
  report: {
    method: 'post',
    path: '/webhooks/email/:provider',
    summary: 'Bounce and complaint reports: nudge ({ events: [...] }), ses (SNS notifications; confirms the subscription), sendgrid (Event Webhook). Key: ?key= or X-Nudge-Webhook-Key',
    tag: 'Deliverability',
    auth: 'none',
    params: z.object({ provider: z.enum(['nudge', 'ses', 'sendgrid']) }),
    documentedBody: z.union([nudgeWebhookSchema, snsEnvelopeSchema, sendGridEventsSchema]),
    responses: {
      200: { description: 'Recorded', schema: z.object({ received: z.number(), matched: z.number(), suppressed: z.number() }) },
      400: { description: 'Invalid payload (the field is named)', schema: errorBody },
      401: { description: 'Missing or wrong key', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

export interface WebhookRouteDeps {
  /** Accepted keys (WEBHOOK_KEY, else the admin key): `?key=` or `X-Nudge-Webhook-Key`. */
  keys: string[]
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
  // SNS posts JSON as text/plain: the body layer parses JSON of any content type; the exact
  // bytes stay in req.rawBody for signature checks.
  r.post('/webhooks/email/:provider', readBody({ limitBytes: 2 * 1024 * 1024, rawBody: true }), async (req, res, next) => {
    try {
      const provider = String(req.params.provider) as WebhookProvider
      if (!PROVIDERS.includes(provider)) throw new NotFoundError(`No webhook format "${provider}" (use ${PROVIDERS.join(', ')})`)
      const key = String(req.query.key ?? req.get('x-nudge-webhook-key') ?? '')
      if (!key || !d.keys.some((k) => safeEqual(k, key))) throw new UnauthorizedError('A valid webhook key is required (?key= or X-Nudge-Webhook-Key)')
      const body: unknown = req.body ?? null
      const result = normalizeWebhook(provider, body, now())
      if (result.subscriptionConfirmation) {
        // Confirming the SNS subscription is one GET of the (validated, amazonaws.com) URL.
        await fetch(result.subscriptionConfirmation.subscribeUrl).catch((err) => d.log?.('SNS subscription not confirmed', { err: String(err) }))
        res.json({ confirmed: true })
        return
      }
      let matched = 0
      let suppressed = 0
      for (const e of result.events) {
        const hash = e.email ? d.suppressions.hashOf(e.email) : undefined
        const message = (e.messageId ? await d.messages.get(e.messageId) : undefined) ?? (hash ? await d.messages.latestTo(hash) : undefined)
        if (message) {
          matched++
          await d.outcomes.record({
            kind: e.kind === 'bounce' ? 'bounce' : e.kind === 'complaint' ? 'complaint' : 'delivered',
            message,
            at: e.at,
            provider: e.provider,
            ...(e.bounceType ? { bounceType: e.bounceType } : {}),
          })
        }
        const address = hash ?? message?.recipientHash
        if (address && (e.kind === 'complaint' || (e.kind === 'bounce' && e.bounceType === 'hard'))) {
          await d.suppressions.add(address, e.kind === 'complaint' ? 'complaint' : 'hard_bounce', e.provider)
          suppressed++
        }
      }
      res.json({ received: result.events.length, matched, suppressed })
    } catch (err) {
      next(err)
    }
  })
  return r
}

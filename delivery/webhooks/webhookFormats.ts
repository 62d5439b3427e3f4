import { z } from 'zod'
import { isoDateTime } from '../../core/wireSchemas.js'
import { formatPath, toFieldIssues } from '../../core/fieldIssues.js'
import { type FieldIssue, ValidationError } from '../../core/errors.js'
import { jsonLimitIssues } from '../../core/jsonLimits.js'

/**
 * Bounce, complaint and delivery reports from the sending provider, each format validated with zod
 * and normalized to one event shape, so the route and the suppression logic never see a provider's
 * dialect. Pure: the receive time is passed in; nothing is fetched (SNS subscription confirmation
 * and SNS signature checks are the route's job — see `SnsSubscriptionConfirmation`).
 */
export type WebhookProvider = 'nudge' | 'ses' | 'sendgrid'

export interface DeliveryEvent {
  kind: 'bounce' | 'complaint' | 'delivered'
  /** Bounces only. hard = the address does not work (suppress it); soft = try again later. */
  bounceType?: 'hard' | 'soft'
  email?: string
  /** Our message id (the workflow's, as in `X-Nudge-Message-Id` / `<id@domain>`), when the report carries it. */
  messageId?: string
  /** The provider's own id for the message (SES `mail.messageId`, SendGrid `sg_message_id`). */
  providerMessageId?: string
  /** Epoch milliseconds: when the provider says it happened, else when we received the report. */
  at: number
  reason?: string
  provider: WebhookProvider
}

/** SNS asks the endpoint to confirm a new subscription: the route fetches `subscribeUrl` (checked to be SNS's own host). */
export interface SnsSubscriptionConfirmation {
  subscribeUrl: string
  topicArn: string
  token: string
}

export interface WebhookResult {
  events: DeliveryEvent[]
  subscriptionConfirmation?: SnsSubscriptionConfirmation
}

/** A payload that does not match its provider's format: a 400 naming every field, e.g. `events[0].email` or `Message.bounce.bounceType`. */
export class WebhookPayloadError extends ValidationError {
  constructor(
    readonly provider: WebhookProvider,
    issues: FieldIssue[],
  ) {
    super(`Invalid ${provider} webhook payload: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
  }
}

// ---------------------------------------------------------------------------------------------
// Nudge's own format, for senders that are not built in: `{ events: [{ type, email | messageId, … }] }`

const nudgeEvent = z
  .object({
    type: z.enum(['bounce', 'complaint', 'delivered']),
    bounceType: z.enum(['hard', 'soft']).optional(),
    email: z
      .string()
      .trim()
      .max(320)
      .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
      .optional(),
    messageId: z.string().trim().min(1).max(256).optional(),
    timestamp: isoDateTime.optional(),
    reason: z.string().max(2000).optional(),
  })
  .refine((e) => e.email !== undefined || e.messageId !== undefined, {
    message: 'email or messageId is required',
    path: ['email'],
    params: { rule: 'required' },
  })

export const nudgeWebhookSchema = z.object({ events: z.array(nudgeEvent).min(1) })

export function normalizeNudgeWebhook(body: unknown, receivedAt: number): WebhookResult {
  const { events } = parse('nudge', nudgeWebhookSchema, body)
  return {
    events: events.map((e) => ({
      kind: e.type,
      // A bounce of unknown type is treated as soft: never suppress an address on uncertain news.
      ...(e.type === 'bounce' ? { bounceType: e.bounceType ?? 'soft' } : {}),
      ...(e.email !== undefined ? { email: e.email } : {}),
      ...(e.messageId !== undefined ? { messageId: e.messageId } : {}),
      at: e.timestamp ? Date.parse(e.timestamp) : receivedAt,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      provider: 'nudge' as const,
    })),
  }
}

// ---------------------------------------------------------------------------------------------
// Amazon SES notifications, delivered through SNS (`{ Type: 'Notification', Message: '<JSON>' }`)
// or un-wrapped (SNS "raw message delivery"). Both the notification form (`notificationType`) and
// the configuration-set event form (`eventType`) are read; other types (e.g.
// `AmazonSnsSubscriptionSucceeded`, `Send`, `Open`) carry nothing for us and are ignored.

/** SubscribeURL must be SNS itself: fetching an arbitrary URL from a request body would be SSRF. */
const SNS_HOST_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//

export const snsEnvelopeSchema = z.discriminatedUnion('Type', [
  z.object({ Type: z.literal('Notification'), Message: z.string(), MessageId: z.string().optional(), TopicArn: z.string().optional() }),
  z.object({
    Type: z.literal('SubscriptionConfirmation'),
    SubscribeURL: z.string().regex(SNS_HOST_URL, 'must be an https://sns.<region>.amazonaws.com URL'),
    TopicArn: z.string().min(1),
    Token: z.string().min(1),
  }),
  z.object({ Type: z.literal('UnsubscribeConfirmation') }),
])

const sesMail = z.object({
  timestamp: isoDateTime,
  messageId: z.string().min(1),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  commonHeaders: z.object({ messageId: z.string().optional() }).optional(),
})

const sesTime = isoDateTime.optional()

export const sesNotificationSchemas = {
  Bounce: z.object({
    mail: sesMail,
    bounce: z.object({
      bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
      bounceSubType: z.string().optional(),
      bouncedRecipients: z.array(
        z.object({ emailAddress: z.string().min(1), diagnosticCode: z.string().optional(), status: z.string().optional() }),
      ),
      timestamp: sesTime,
    }),
  }),
  Complaint: z.object({
    mail: sesMail,
    complaint: z.object({
      complainedRecipients: z.array(z.object({ emailAddress: z.string().min(1) })),
      complaintFeedbackType: z.string().optional(),
      timestamp: sesTime,
    }),
  }),
  Delivery: z.object({
    mail: sesMail,
    delivery: z.object({ recipients: z.array(z.string().min(1)), smtpResponse: z.string().optional(), timestamp: sesTime }),
  }),
}

const sesKind = z.object({ notificationType: z.string().optional(), eventType: z.string().optional() })

export function normalizeSesWebhook(body: unknown, _receivedAt: number): WebhookResult {
  if (body !== null && typeof body === 'object' && 'Type' in body) {
    const envelope = parse('ses', snsEnvelopeSchema, body)
    if (envelope.Type === 'SubscriptionConfirmation')
      return {
        events: [],
        subscriptionConfirmation: { subscribeUrl: envelope.SubscribeURL, topicArn: envelope.TopicArn, token: envelope.Token },
      }
    if (envelope.Type === 'UnsubscribeConfirmation') return { events: [] }
    let message: unknown
    try {
      message = JSON.parse(envelope.Message)
    } catch {
      throw new WebhookPayloadError('ses', [{ path: 'Message', rule: 'json', message: 'must be the SES notification as a JSON string' }])
    }
    // JSON inside JSON: the body layer's depth and Unicode checks never saw it.
    const limits = jsonLimitIssues(message, { prefix: 'Message' })
    if (limits.length) throw new WebhookPayloadError('ses', limits)
    return { events: sesEvents(message, ['Message']) }
  }
  return { events: sesEvents(body, []) }
}

function sesEvents(n: unknown, prefix: PropertyKey[]): DeliveryEvent[] {
  const kind = parse('ses', sesKind, n, prefix)
  const type = kind.notificationType ?? kind.eventType
  if (type === undefined)
    throw new WebhookPayloadError('ses', [{ path: formatPath([...prefix, 'notificationType']), rule: 'required', message: 'is required' }])
  const base = (mail: z.infer<typeof sesMail>, at: string | undefined) => ({
    ...optional('messageId', ourMessageId(mail)),
    providerMessageId: mail.messageId,
    at: Date.parse(at ?? mail.timestamp), // validated ISO-8601; SES always sends mail.timestamp
    provider: 'ses' as const,
  })
  switch (type) {
    case 'Bounce': {
      const { mail, bounce } = parse('ses', sesNotificationSchemas.Bounce, n, prefix)
      // Permanent: the address does not exist or refuses us for good. Transient (mailbox full,
      // too large, throttled) and Undetermined are soft: no suppression on uncertain news.
      const bounceType = bounce.bounceType === 'Permanent' ? 'hard' : 'soft'
      const summary = [bounce.bounceType, bounce.bounceSubType].filter(Boolean).join('/')
      return recipients(bounce.bouncedRecipients, (r) => ({
        kind: 'bounce',
        bounceType,
        ...optional('email', r?.emailAddress),
        reason: r?.diagnosticCode ?? summary,
        ...base(mail, bounce.timestamp),
      }))
    }
    case 'Complaint': {
      const { mail, complaint } = parse('ses', sesNotificationSchemas.Complaint, n, prefix)
      return recipients(complaint.complainedRecipients, (r) => ({
        kind: 'complaint',
        ...optional('email', r?.emailAddress),
        ...optional('reason', complaint.complaintFeedbackType),
        ...base(mail, complaint.timestamp),
      }))
    }
    case 'Delivery': {
      const { mail, delivery } = parse('ses', sesNotificationSchemas.Delivery, n, prefix)
      return recipients(delivery.recipients, (r) => ({
        kind: 'delivered',
        ...optional('email', r),
        ...optional('reason', delivery.smtpResponse),
        ...base(mail, delivery.timestamp),
      }))
    }
    default:
      return []
  }
}

/** One event per recipient; a report naming none still counts once, for the message. */
function recipients<R>(list: R[], make: (r: R | undefined) => DeliveryEvent): DeliveryEvent[] {
  return list.length ? list.map(make) : [make(undefined)]
}

/**
 * Our id from the headers SES echoes (only when "include original headers" is on, else the
 * common headers): `X-Nudge-Message-Id` as sent, else the Message-ID, which we set to `<id@domain>`.
 */
function ourMessageId(mail: z.infer<typeof sesMail>): string | undefined {
  const header = (name: string) => mail.headers?.find((h) => h.name.toLowerCase() === name)?.value
  const own = header('x-nudge-message-id')?.trim()
  if (own) return own
  const mid = header('message-id') ?? mail.commonHeaders?.messageId
  return mid ? messageIdFromHeader(mid) : undefined
}

/** `<id@domain>` → `id`: the transport sets Message-ID to our message id at its own domain. */
export function messageIdFromHeader(value: string): string | undefined {
  const inner = value.trim().replace(/^<\s*/, '').replace(/\s*>$/, '')
  const at = inner.lastIndexOf('@')
  return (at > 0 ? inner.slice(0, at) : inner) || undefined
}

// ---------------------------------------------------------------------------------------------
// SendGrid Event Webhook: a JSON array of events, timestamps in unix seconds. Events other than
// the ones below (processed, deferred, open, click, unsubscribe, …) are ignored.

const sendGridEvent = z.object({
  event: z.string().min(1),
  email: z.string().min(1),
  timestamp: z.number().int().nonnegative(),
  sg_message_id: z.string().optional(),
  'smtp-id': z.string().optional(),
  type: z.string().optional(),
  reason: z.string().optional(),
  response: z.string().optional(),
})

export const sendGridEventsSchema = z.array(sendGridEvent)

export function normalizeSendGridWebhook(body: unknown, _receivedAt: number): WebhookResult {
  const events: DeliveryEvent[] = []
  for (const e of parse('sendgrid', sendGridEventsSchema, body)) {
    const kind = sendGridKind(e)
    if (!kind) continue
    const reason = e.event === 'dropped' ? `dropped: ${e.reason ?? 'unknown'}` : (e.reason ?? e.response)
    events.push({
      ...kind,
      email: e.email,
      ...optional('messageId', e['smtp-id'] ? messageIdFromHeader(e['smtp-id']) : undefined),
      ...optional('providerMessageId', e.sg_message_id),
      at: e.timestamp * 1000,
      ...optional('reason', reason),
      provider: 'sendgrid',
    })
  }
  return { events }
}

function sendGridKind(e: z.infer<typeof sendGridEvent>): Pick<DeliveryEvent, 'kind' | 'bounceType'> | undefined {
  switch (e.event) {
    // `type: 'blocked'` (and the older `blocked` event): the receiving server refused this message
    // (reputation, content), not the address — soft. Otherwise a bounce is the address — hard.
    case 'bounce':
      return { kind: 'bounce', bounceType: e.type === 'blocked' ? 'soft' : 'hard' }
    case 'blocked':
      return { kind: 'bounce', bounceType: 'soft' }
    // SendGrid did not even try: hard when it is because the address bounced before or is invalid;
    // any other drop (its own unsubscribe list, quota, content) says nothing about the address.
    case 'dropped':
      return { kind: 'bounce', bounceType: /bounced address|^invalid$/i.test(e.reason ?? '') ? 'hard' : 'soft' }
    case 'spamreport':
      return { kind: 'complaint' }
    case 'delivered':
      return { kind: 'delivered' }
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------------

export function normalizeWebhook(provider: WebhookProvider, body: unknown, receivedAt: number): WebhookResult {
  switch (provider) {
    case 'nudge':
      return normalizeNudgeWebhook(body, receivedAt)
    case 'ses':
      return normalizeSesWebhook(body, receivedAt)
    case 'sendgrid':
      return normalizeSendGridWebhook(body, receivedAt)
  }
}

function parse<S extends z.ZodType>(provider: WebhookProvider, schema: S, input: unknown, prefix: PropertyKey[] = []): z.infer<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new WebhookPayloadError(provider, toFieldIssues(result.error, input, prefix))
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}

import { type KeyObject, X509Certificate, verify } from 'node:crypto'
import { z } from 'zod'
import { UnauthorizedError } from '../../core/errors.js'
import { WebhookPayloadError } from './webhookFormats.js'
import { withinSignedAge } from './signedAge.js'

/**
 * Amazon SNS message signatures (AWS: "Verifying the signatures of Amazon SNS messages"). Anyone
 * can post an SNS-shaped body; only SNS can sign it with the key of a certificate served from
 * SNS's own host. SignatureVersion 1 is RSA-SHA1, 2 is RSA-SHA256, both over a canonical string of
 * the message's fields. The certificate URL is checked against SNS's host pattern *before* it is
 * fetched (a URL from a request body is otherwise an SSRF and a forged key), and certificates are
 * cached by URL.
 */

/** Fetches a URL's body as text (the certificate, the subscription confirmation); injectable for tests. */
export type HttpGet = (url: string) => Promise<string>

/**
 * `sns.<region>.amazonaws.com(.cn)`, the region in AWS's own shape (`us-east-1`, `us-gov-west-1`,
 * `cn-north-1`, `us-isob-east-1`): letters, dashes, a final number. Not merely "one label": S3's
 * legacy hosts have that form too (`sns.s3.amazonaws.com`, `sns.s3-us-west-2.amazonaws.com`,
 * `sns.s3-website-us-east-1.amazonaws.com` are the bucket named "sns"), and whoever owns that
 * bucket could serve a certificate there and sign SES reports of their own.
 */
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(\.cn)?$/

/** An https URL on SNS's own host (no port, no credentials), else undefined. */
export function snsUrl(raw: string): URL | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' || url.port || url.username || url.password || !SNS_HOST.test(url.hostname)) return undefined
  return url
}

const signed = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1),
  TopicArn: z.string().min(1),
  Message: z.string(),
  Timestamp: z.string().min(1),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1),
  SigningCertURL: z.string().min(1),
  Subject: z.string().optional(),
  SubscribeURL: z.string().optional(),
  Token: z.string().optional(),
})
export type SignedSnsMessage = z.infer<typeof signed>

/** The canonical string SNS signs: `Name\nValue\n` for each field of the message's type, in this order. */
export function snsStringToSign(m: SignedSnsMessage): string {
  const fields =
    m.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const)
  let out = ''
  for (const f of fields) {
    const value = m[f]
    // Subject is signed only when the notification has one.
    if (value === undefined && f === 'Subject') continue
    out += `${f}\n${value ?? ''}\n`
  }
  return out
}

export interface SnsVerifierOptions {
  httpGet: HttpGet
  /** A message whose Timestamp is older than this is refused (SNS retries keep the first Timestamp). */
  maxAgeMs: number
  /** When non-empty, only these topics are accepted (anyone can publish through a topic of their own). */
  topicArns?: string[]
  now?: () => number
}

export interface SnsVerifier {
  /** Resolves with the message when its signature, certificate URL, topic and age hold; throws 401 otherwise. */
  verify(body: unknown): Promise<SignedSnsMessage>
  /** Confirms a subscription: one GET of its SubscribeURL, which must be on SNS's host. */
  confirm(subscribeUrl: string): Promise<void>
}

const CACHE_MAX = 64

export function createSnsVerifier(o: SnsVerifierOptions): SnsVerifier {
  const now = o.now ?? Date.now
  const certificates = new Map<string, Promise<X509Certificate>>()
  const refuse = (why: string) => new UnauthorizedError(`SNS message refused: ${why}`)

  const publicKey = async (url: string): Promise<KeyObject> => {
    let cert = certificates.get(url)
    if (!cert) {
      cert = o.httpGet(url).then((pem) => new X509Certificate(pem))
      // A failed fetch is not remembered: the next message tries again.
      cert.catch(() => certificates.delete(url))
      if (certificates.size >= CACHE_MAX) certificates.delete(certificates.keys().next().value!)
      certificates.set(url, cert)
    }
    const c = await cert
    // Checked on every use, not only at the fetch: a cached certificate expires too.
    const t = now()
    if (t < Date.parse(c.validFrom) || t > Date.parse(c.validTo)) throw refuse('the signing certificate is not valid now')
    return c.publicKey
  }

  return {
    async verify(body) {
      if (body === null || typeof body !== 'object' || !('Signature' in body))
        throw refuse('it is not signed (turn raw message delivery off)')
      const parsed = signed.safeParse(body)
      if (!parsed.success)
        throw new WebhookPayloadError(
          'ses',
          parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', rule: 'sns_signed_message', message: i.message })),
        )
      const m = parsed.data
      if (m.Type !== 'Notification' && (m.SubscribeURL === undefined || m.Token === undefined))
        throw new WebhookPayloadError('ses', [{ path: 'SubscribeURL', rule: 'required', message: 'SubscribeURL and Token are required' }])
      const certUrl = snsUrl(m.SigningCertURL)
      if (!certUrl || !certUrl.pathname.endsWith('.pem'))
        throw refuse('SigningCertURL must be an https://sns.<region>.amazonaws.com/….pem URL')
      if (o.topicArns?.length && !o.topicArns.includes(m.TopicArn)) throw refuse(`topic ${m.TopicArn} is not in SNS_TOPIC_ARNS`)
      const at = Date.parse(m.Timestamp)
      if (!Number.isFinite(at)) throw refuse('Timestamp is not a date')
      if (!withinSignedAge(at, now(), o.maxAgeMs)) throw refuse('Timestamp is outside the accepted age (WEBHOOK_MAX_AGE)')
      let key: KeyObject
      try {
        key = await publicKey(certUrl.href)
      } catch (err) {
        throw err instanceof UnauthorizedError ? err : refuse(`the signing certificate could not be read (${(err as Error).message})`)
      }
      let ok: boolean
      try {
        ok = verify(
          m.SignatureVersion === '1' ? 'sha1' : 'sha256',
          Buffer.from(snsStringToSign(m), 'utf8'),
          key,
          Buffer.from(m.Signature, 'base64'),
        )
      } catch {
        ok = false // a signature of the wrong size or a key of the wrong type
      }
      if (!ok) throw refuse('the signature does not match')
      return m
    },
    async confirm(subscribeUrl) {
      const url = snsUrl(subscribeUrl)
      if (!url) throw refuse('SubscribeURL must be an https://sns.<region>.amazonaws.com URL')
      await o.httpGet(url.href)
    },
  }
}

/** The production fetcher: https only, a timeout and a size bound (a certificate is a few KB). */
export const fetchText: HttpGet = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' })
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`)
  const text = await res.text()
  if (text.length > 64 * 1024) throw new Error(`GET ${url}: body too large`)
  return text
}

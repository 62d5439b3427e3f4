import { type KeyObject, createPublicKey, verify } from 'node:crypto'
import { UnauthorizedError } from '../../core/errors.js'
import { withinSignedAge } from './signedAge.js'

/**
 * SendGrid's Signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER) over the
 * timestamp header followed by the raw body bytes, exactly as received (re-serialized JSON would
 * not verify). The timestamp is signed too, so an old request replayed is refused by its age.
 */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature'
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp'

/**
 * The verification key as SendGrid shows it (base64 of the DER public key) or as PEM. Throws when
 * it is not an EC P-256 public key.
 */
export function parseSendGridPublicKey(text: string): KeyObject {
  const t = text.trim()
  const key = t.includes('BEGIN') ? createPublicKey(t) : createPublicKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'spki' })
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error('must be an EC P-256 public key')
  return key
}

export interface SendGridVerifierOptions {
  publicKey: KeyObject
  maxAgeMs: number
  now?: () => number
}

/** Throws 401 unless the signature over `timestamp + rawBody` verifies and the timestamp is recent. */
export function createSendGridVerifier(o: SendGridVerifierOptions) {
  const now = o.now ?? Date.now
  const refuse = (why: string) => new UnauthorizedError(`SendGrid webhook refused: ${why}`)
  return (headers: { signature?: string; timestamp?: string }, rawBody: Buffer): void => {
    if (!headers.signature || !headers.timestamp) throw refuse('the signature headers are missing (enable the Signed Event Webhook)')
    if (!/^\d{1,12}$/.test(headers.timestamp)) throw refuse('the timestamp header must be unix seconds')
    const at = Number(headers.timestamp) * 1000
    if (!withinSignedAge(at, now(), o.maxAgeMs)) throw refuse('the timestamp is outside the accepted age (WEBHOOK_MAX_AGE)')
    let ok: boolean
    try {
      ok = verify(
        'sha256',
        Buffer.concat([Buffer.from(headers.timestamp, 'utf8'), rawBody]),
        o.publicKey,
        Buffer.from(headers.signature, 'base64'),
      )
    } catch {
      ok = false // a signature that is not DER at all
    }
    if (!ok) throw refuse('the signature does not match')
  }
}

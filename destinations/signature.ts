import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The webhook signature: `Nudge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The time is inside the signed content, so a captured request cannot be replayed later with a
 * fresh time; a receiver refuses a `t` older than its tolerance (docs/destinations.md).
 */
export const SIGNATURE_HEADER = 'nudge-signature'

export function signBody(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000)
  return `t=${t},v1=${hmac(secret, t, body)}`
}

export type Verification = { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' }

/** The receiver's side (what docs/destinations.md describes), used by the tests' receiver. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  toleranceS = 300,
  nowMs = Date.now(),
): Verification {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.trim().split('=', 2) as [string, string]))
  const t = Number(parts.t)
  if (!Number.isInteger(t) || !parts.v1 || !/^[0-9a-f]{64}$/.test(parts.v1)) return { ok: false, reason: 'malformed' }
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: 'stale' }
  const expected = Buffer.from(hmac(secret, t, body), 'hex')
  return timingSafeEqual(expected, Buffer.from(parts.v1, 'hex')) ? { ok: true } : { ok: false, reason: 'mismatch' }
}

function hmac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
}

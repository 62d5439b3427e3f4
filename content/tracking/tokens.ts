import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Signed tokens for the tracking URLs in an email (open pixel, link click, unsubscribe, view in
 * browser). The token carries everything the route needs, so a request is answered without a
 * lookup, and the signature is what makes it trustworthy: a click token is bound to its message
 * AND its target URL, so `/t/c/<token>` can only ever redirect where we sent it (no open redirect).
 *
 * Form: `<payload>.<mac>`, both base64url (URL-safe, no padding).
 * - payload: a JSON array, not an object — positional fields keep the token short
 *   (`["c","<messageId>",3,"https://…"]`), and the kind comes first so a decoder knows the shape.
 * - mac: HMAC-SHA256 over a domain label plus the payload bytes, truncated to 16 bytes (128 bits).
 *   Forging one needs ~2^128 online guesses, far beyond what a rate-limited endpoint allows, and it
 *   saves 22 characters per link. The label keeps this key's MACs from meaning anything elsewhere.
 * Tokens are not encrypted: the message id and URL are readable by whoever holds the email anyway.
 */
export type TokenPayload =
  { k: 'o'; m: string } | { k: 'c'; m: string; u: string; i: number } | { k: 'u'; m: string; t: string; uk: string } | { k: 'v'; m: string }

export type TokenKind = TokenPayload['k']

const LABEL = Buffer.from('nudge-tracking-v1\0')
const MAC_BYTES = 16
/** Real tokens are a few hundred characters; anything far larger is refused before any hashing. */
const MAX_TOKEN_CHARS = 8192
const MIN_KEY_BYTES = 16
const BASE64URL = /^[A-Za-z0-9_-]+$/

export function signToken(key: Buffer, payload: TokenPayload): string {
  checkKey(key)
  if (!isPayload(payload)) throw new Error(`Not a valid tracking token payload: ${JSON.stringify(payload)}`)
  const body = Buffer.from(JSON.stringify(toArray(payload)), 'utf8')
  return `${body.toString('base64url')}.${mac(key, body).toString('base64url')}`
}

/**
 * The payload, or undefined for anything not signed exactly as given by this key — or by one of
 * these keys: the current one first, then keys being rotated out (verification only; signing
 * always uses the current key).
 */
export function verifyToken(key: Buffer | readonly Buffer[], token: string): TokenPayload | undefined {
  const keys = Buffer.isBuffer(key) ? [key] : key
  if (!keys.length) throw new Error('No tracking key to verify with')
  for (const k of keys) checkKey(k)
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return undefined
  const dot = token.indexOf('.')
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined
  const body = strictBase64url(token.slice(0, dot))
  const given = strictBase64url(token.slice(dot + 1))
  if (!body || !given || given.length !== MAC_BYTES) return undefined
  if (!keys.some((k) => timingSafeEqual(given, mac(k, body)))) return undefined
  // Only parsed after the MAC matched: nothing unauthenticated reaches JSON.parse.
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  const payload = fromArray(parsed)
  return payload && isPayload(payload) ? payload : undefined
}

function checkKey(key: Buffer): void {
  // A configuration error, not a bad token: fail loudly rather than sign with a guessable key.
  if (!Buffer.isBuffer(key) || key.length < MIN_KEY_BYTES) throw new Error(`The tracking key must be at least ${MIN_KEY_BYTES} bytes`)
}

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(LABEL).update(body).digest().subarray(0, MAC_BYTES)
}

/**
 * Node's base64url decoder skips characters it does not know and ignores the unused low bits of
 * the last character, so several strings decode to the same bytes. Only the one canonical
 * encoding is accepted: a token verifies exactly as it was issued, or not at all.
 */
function strictBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

function toArray(p: TokenPayload): unknown[] {
  switch (p.k) {
    case 'o':
    case 'v':
      return [p.k, p.m]
    case 'c':
      return [p.k, p.m, p.i, p.u]
    case 'u':
      return [p.k, p.m, p.t, p.uk]
  }
}

function fromArray(a: unknown): TokenPayload | undefined {
  if (!Array.isArray(a)) return undefined
  const [k, m, x, y] = a as unknown[]
  switch (k) {
    case 'o':
    case 'v':
      return a.length === 2 ? ({ k, m } as TokenPayload) : undefined
    case 'c':
      return a.length === 4 ? ({ k, m, i: x, u: y } as TokenPayload) : undefined
    case 'u':
      return a.length === 4 ? ({ k, m, t: x, uk: y } as TokenPayload) : undefined
    default:
      return undefined
  }
}

function isPayload(p: unknown): p is TokenPayload {
  if (p === null || typeof p !== 'object') return false
  const o = p as Record<string, unknown>
  if (!nonEmpty(o.m)) return false
  switch (o.k) {
    case 'o':
    case 'v':
      return true
    case 'c':
      // Only web URLs: a signed `javascript:` target would still be an injection.
      return Number.isSafeInteger(o.i) && (o.i as number) >= 0 && typeof o.u === 'string' && /^https?:\/\//i.test(o.u)
    case 'u':
      return nonEmpty(o.t) && nonEmpty(o.uk)
    default:
      return false
  }
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0
}

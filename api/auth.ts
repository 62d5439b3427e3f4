import { timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import { UnauthorizedError } from '../core/errors.js'

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Segment clients send the write key as the HTTP Basic username (password empty); some send it
 * in the body as `writeKey`, and the pixel sends it as a query parameter.
 */
export function writeKeyFrom(req: Request): string | undefined {
  const basic = basicCredentials(req)
  if (basic) return basic.user
  const fromBody = (req.body as { writeKey?: unknown } | undefined)?.writeKey
  if (typeof fromBody === 'string') return fromBody
  return undefined
}

/** `Authorization: Basic …` decoded (a value without a colon is all user). */
function basicCredentials(req: Request): { user: string; password: string } | undefined {
  const header = req.headers.authorization
  if (!header?.startsWith('Basic ')) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon >= 0 ? { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : { user: decoded, password: '' }
}

/** The token of `Authorization: Bearer <token>`, or '' when there is none. */
function bearerToken(req: Request): string {
  const header = req.headers.authorization ?? ''
  return header.startsWith('Bearer ') ? header.slice(7).trim() : ''
}

export function resolveSource(writeKeys: Map<string, string>, key: string | undefined): string {
  if (!key)
    throw new UnauthorizedError('Missing write key: send it as the HTTP Basic username (Authorization: Basic base64("<writeKey>:"))')
  for (const [known, source] of writeKeys) if (safeEqual(known, key)) return source
  throw new UnauthorizedError('Unknown write key')
}

/** The admin key, and during a rotation the previous ones (`ADMIN_API_KEY_PREVIOUS`). */
export function requireAdmin(adminKeys: string | string[]) {
  return requireBearer(typeof adminKeys === 'string' ? [adminKeys] : adminKeys, {
    missing: 'Missing admin key: send Authorization: Bearer <ADMIN_API_KEY>',
    invalid: 'Invalid admin key',
  })
}

/**
 * The webhook key from a header, never the URL (a query string lands in access logs and proxy
 * logs): `X-Nudge-Webhook-Key`, `Authorization: Bearer`, or HTTP Basic with the key as password
 * (or as user with an empty password) — what an ESP sends for `https://nudge:<key>@host/…`.
 */
export function webhookKeyFrom(req: Request): string | undefined {
  const own = req.get('x-nudge-webhook-key')
  if (own) return own
  const bearer = bearerToken(req)
  if (bearer) return bearer
  const basic = basicCredentials(req)
  return basic ? basic.password || basic.user || undefined : undefined
}

/** `Authorization: Bearer <key>` against these keys (e.g. METRICS_KEY), refused with these messages. */
export function requireBearer(keys: string[], refusal: { missing: string; invalid: string }) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req)
    if (!token) return next(new UnauthorizedError(refusal.missing))
    // Every key is compared (no early exit), so the time taken says nothing about which matched.
    if (!keys.map((k) => safeEqual(token, k)).includes(true)) return next(new UnauthorizedError(refusal.invalid))
    next()
  }
}

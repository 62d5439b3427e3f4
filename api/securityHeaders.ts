import type { NextFunction, Request, Response } from 'express'

/**
 * Nudge's own pages (/docs, /messages, reports, the preferences page) load script only from this
 * origin, never inline: a string that reaches one of them unescaped still cannot run.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Stored mail is someone else's HTML on our origin (a template may print an event property raw),
 * so it runs no script at all: a CSP sandbox without allow-scripts gives the document an opaque
 * origin (no cookies, no storage, no same-origin fetch), and `default-src 'none'` leaves only
 * images, inline styles and fonts. Popups may open (a mail's links use target=_blank) but escape
 * the sandbox only as new, ordinary top-level pages of *their* URL.
 */
export const STORED_MAIL_CSP = [
  'sandbox allow-popups allow-popups-to-escape-sandbox',
  "default-src 'none'",
  'img-src https: http: data: cid:',
  "style-src 'unsafe-inline' https:",
  'font-src https: data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * Every response: no MIME sniffing, no framing, no token-bearing URL leaked as a Referer. (No
 * Cross-Origin-Resource-Policy: the open pixel is loaded by webmail pages of other origins.)
 */
export function securityHeaders() {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    })
    next()
  }
}

/**
 * The one way a route sends stored mail (view in browser, a captured message): the sandbox CSP
 * replaces the page policy, never cached by a shared cache.
 */
export function sendStoredMail(res: Response, body: string, contentType = 'html'): void {
  storedMailHeaders(res).type(contentType).send(body)
}

/** The stored-mail headers alone, for a route that answers through its typed `reply`. */
export function storedMailHeaders<R extends { set(fields: Record<string, string>): R }>(res: R): R {
  return res.set({
    'Content-Security-Policy': STORED_MAIL_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'private, no-store',
  })
}

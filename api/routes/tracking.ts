import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { readBody } from '../body.js'
import type { ConsentState } from '../../ingest/identity/consentState.js'
import type { EventWriter } from '../../ingest/eventWriter.js'
import type { MessageBodies } from '../../delivery/messageBodies.js'
import type { MessageLookup } from '../../delivery/engagement/messageLookup.js'
import type { OutcomeRecorder } from '../../delivery/engagement/outcomes.js'
import { ClickBursts } from '../../delivery/engagement/clickBursts.js'
import { classifyClick, classifyOpen } from '../../delivery/engagement/machineDetection.js'
import { verifyToken } from '../../content/tracking/tokens.js'
import { isOneClickBody, parsePreferencesForm, preferencesPage } from '../../delivery/unsubscribeHeaders.js'
import { NotFoundError, ValidationError, errorBody } from '../../core/errors.js'
import { z } from 'zod'
import type { RouteSpec } from '../route.js'
import { sendStoredMail } from '../securityHeaders.js'
import { GIF } from './pixel.js'

const token = z.object({ token: z.string().describe('A signed token from the email') })
/** The public endpoints, documented (handlers below read tokens and raw bodies themselves). */
export const trackingSpecs = {
  open: {
    method: 'get',
    path: '/t/o/:token',
    summary: 'Open pixel (a 1×1 GIF); machine opens are recorded and flagged',
    tag: 'Tracking',
    auth: 'none',
    params: token,
    responses: { 200: { description: 'GIF', contentType: 'image/gif' }, 404: { description: 'Token not valid', schema: errorBody } },
  },
  click: {
    method: 'get',
    path: '/t/c/:token',
    summary: 'Click: 302 to the URL the token was signed for (never another)',
    tag: 'Tracking',
    auth: 'none',
    params: token,
    responses: { 302: { description: 'To the link target' }, 404: { description: 'Token not valid', schema: errorBody } },
  },
  view: {
    method: 'get',
    path: '/t/v/:token',
    summary: 'The message in a browser (kept 30 days)',
    tag: 'Tracking',
    auth: 'none',
    params: token,
    responses: { 200: { description: 'HTML', contentType: 'text/html' }, 404: { description: 'Unknown or expired', schema: errorBody } },
  },
  preferences: {
    method: 'get',
    path: '/u/:token',
    summary: 'Email preferences page by topic',
    tag: 'Tracking',
    auth: 'none',
    params: token,
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  },
  unsubscribe: {
    method: 'post',
    path: '/u/:token',
    summary: 'RFC 8058 one-click unsubscribe (body List-Unsubscribe=One-Click), or the preferences form',
    tag: 'Tracking',
    auth: 'none',
    params: token,
    responses: {
      200: {
        description: 'Done: the preferences page, updated (a form post), or the text `Unsubscribed.` (one-click)',
        contentType: 'text/html',
      },
      400: { description: 'Neither form nor one-click body', schema: errorBody },
      404: { description: 'Token not valid', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

export interface TrackingRouteDeps {
  /** The link-signing key, or the current one then keys being rotated out (verification only). */
  key: Buffer | readonly Buffer[]
  messages: MessageLookup
  outcomes: OutcomeRecorder
  writer: EventWriter
  consent: ConsentState
  /** The stored HTML of sent mail, for "view in browser". */
  bodies: Pick<MessageBodies, 'html'>
  /** Topics a recipient can choose on the preferences page (label by topic). */
  topics: Record<string, string>
  publicUrl: () => string
  /** Links of a message clicked together (scanner detection); registered for erasure by its owner. */
  clicks?: ClickBursts
  log?: (msg: string, extra?: Record<string, unknown>) => void
  now?: () => number
}

type Kind = 'o' | 'c' | 'u' | 'v'
type Verified<K extends Kind> = Extract<NonNullable<ReturnType<typeof verifyToken>>, { k: K }>
interface Tracking extends TrackingRouteDeps {
  now: () => number
  /** The token's payload when it verifies and is of `kind`; a 404 otherwise (never a redirect elsewhere). */
  verify<K extends Kind>(token: string, kind: K): Verified<K>
}

const agent = (req: Request) => req.get('user-agent') ?? ''

/**
 * The public endpoints in every email: open pixel, click redirect, view in browser, unsubscribe
 * and preferences. Each is authorised by its signed token alone; a token that does not verify is
 * a 404 — never a redirect to wherever the request says (no open redirect). Machine opens and
 * scanner clicks are recorded and flagged, not dropped.
 */
export function trackingRouter(d: TrackingRouteDeps): Router {
  const t: Tracking = {
    ...d,
    now: d.now ?? Date.now,
    verify: <K extends Kind>(token: string, kind: K) => {
      const p = verifyToken(d.key, token)
      if (!p || p.k !== kind) throw new NotFoundError('This link is not valid (it may have been changed or cut off)')
      return p as Verified<K>
    },
  }
  const r = Router()
  r.get('/t/o/:token', openPixel(t))
  // Different links of one message clicked in the last second: a scanner walks them all at once.
  const click = clickRedirect(t, d.clicks ?? new ClickBursts())
  r.get('/t/c/:token', click)
  r.head('/t/c/:token', click)
  r.get('/t/v/:token', viewInBrowser(t))
  r.get('/u/:token', showPreferences(t))
  r.post('/u/:token', readBody({ limitBytes: 16 * 1024, as: 'bytes' }), submitPreferences(t))
  return r
}

/** The pixel answers first; the open is recorded after (a failure is logged, the GIF is already sent). */
function openPixel(t: Tracking): RequestHandler<{ token: string }> {
  return async (req, res, next) => {
    try {
      const p = t.verify(req.params.token, 'o')
      res.set('cache-control', 'no-store, private').type('image/gif').send(GIF)
      // Erased mail: dropped and counted, never stored (the engagement layer decides).
      if (t.outcomes.dropsErased('open', p.m)) return
      const message = await t.messages.get(p.m)
      if (!message) return
      const at = t.now()
      const c = classifyOpen({ userAgent: agent(req), ip: req.ip, at, sentAt: message.sentAt })
      await t.outcomes.record({
        kind: 'open',
        message,
        at,
        machine: c.machine,
        ...(c.reason ? { machineReason: c.reason } : {}),
        userAgent: agent(req),
      })
    } catch (err) {
      if (!res.headersSent) next(err)
      else t.log?.('open not recorded', { err: String(err) })
    }
  }
}

function clickRedirect(t: Tracking, clicks: ClickBursts) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const p = t.verify(String(req.params.token), 'c')
      res.redirect(302, p.u)
      if (t.outcomes.dropsErased('click', p.m)) return
      const message = await t.messages.get(p.m)
      if (!message) return
      const at = t.now()
      const c = classifyClick({
        userAgent: agent(req),
        ip: req.ip,
        method: req.method,
        at,
        sentAt: message.sentAt,
        linksClickedWithinSecond: clicks.click(p.m, p.i, at),
      })
      await t.outcomes.record({
        kind: 'click',
        message,
        at,
        url: p.u,
        machine: c.machine,
        ...(c.reason ? { machineReason: c.reason } : {}),
        userAgent: agent(req),
      })
    } catch (err) {
      if (!res.headersSent) next(err)
      else t.log?.('click not recorded', { err: String(err) })
    }
  }
}

function viewInBrowser(t: Tracking): RequestHandler<{ token: string }> {
  return async (req, res, next) => {
    try {
      const p = t.verify(req.params.token, 'v')
      if (t.outcomes.dropsErased('view', p.m)) throw new NotFoundError('This message is no longer available online')
      const html = await t.bodies.html(p.m)
      if (html === undefined) throw new NotFoundError('This message is no longer available online')
      sendStoredMail(res, html)
    } catch (err) {
      next(err)
    }
  }
}

/** Records a consent change per topic from an unsubscribe link, and the unsubscribe outcome. */
async function unsubscribe(t: Tracking, p: { m: string; t: string; uk: string }, topics: string[], granted: Record<string, boolean>) {
  // Erased mail: its recipient is gone; a consent row now would bring them back.
  if (t.outcomes.dropsErased('unsubscribe', p.m)) return
  const changedAt = t.now()
  const changes = topics.map((topic) => ({
    userKey: p.uk,
    topic,
    granted: granted[topic] ?? false,
    changedAt,
    source: 'unsubscribe' as const,
  }))
  // Through the writer: stored, and the journey router ends running journeys of that topic at once.
  await t.writer.write({ events: [], consent: changes })
  const message = await t.messages.get(p.m)
  if (message && changes.some((c) => !c.granted)) await t.outcomes.record({ kind: 'unsubscribe', message, at: changedAt })
}

function page(t: Tracking, p: { t: string; uk: string }, token: string, done: boolean): string {
  return preferencesPage({
    topics: Object.entries(t.topics).map(([topic, label]) => ({ topic, label, subscribed: t.consent.isGranted(p.uk, topic) })),
    actionUrl: `${t.publicUrl().replace(/\/+$/, '')}/u/${token}`,
    done,
  })
}

function showPreferences(t: Tracking): RequestHandler<{ token: string }> {
  return (req, res, next) => {
    try {
      const p = t.verify(req.params.token, 'u')
      if (t.outcomes.dropsErased('preferences', p.m)) throw new NotFoundError('This link is no longer available')
      res
        .set('cache-control', 'no-store')
        .set('referrer-policy', 'no-referrer')
        .type('html')
        .send(page(t, p, req.params.token, false))
    } catch (err) {
      next(err)
    }
  }
}

function submitPreferences(t: Tracking): RequestHandler<{ token: string }> {
  return async (req, res, next) => {
    try {
      const p = t.verify(req.params.token, 'u')
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      // RFC 8058 one-click: the mailbox provider's POST, no page, no second step.
      if (isOneClickBody(req.get('content-type'), body)) {
        await unsubscribe(t, p, [p.t], {})
        res.status(200).type('text').send('Unsubscribed.')
        return
      }
      if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(req.get('content-type') ?? ''))
        throw new ValidationError('Send the preferences form or an RFC 8058 one-click body', [
          { path: '(body)', rule: 'content_type', message: 'must be application/x-www-form-urlencoded or multipart/form-data' },
        ])
      const form = parsePreferencesForm(body)
      const all = Object.keys(t.topics)
      const keep = form.action === 'unsubscribe_all' ? new Set<string>() : new Set(form.topics.filter((x) => all.includes(x)))
      await unsubscribe(t, p, all, Object.fromEntries(all.map((x) => [x, keep.has(x)])))
      res
        .set('cache-control', 'no-store')
        .type('html')
        .send(page(t, p, req.params.token, true))
    } catch (err) {
      next(err)
    }
  }
}

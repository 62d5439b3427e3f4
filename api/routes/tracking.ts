import express, { Router, type Request } from 'express'
import { readBody } from '../body.js'
import type { ClickHouseClient } from '@clickhouse/client'
import type { ConsentState } from '../../ingest/identity/consentState.js'
import type { EventWriter } from '../../ingest/eventWriter.js'
import { selectRows } from '../../clickhouse/store.js'
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
      200: { description: 'Done' },
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
  client: ClickHouseClient
  /** Topics a recipient can choose on the preferences page (label by topic). */
  topics: Record<string, string>
  publicUrl: () => string
  /** Links of a message clicked together (scanner detection); registered for erasure by its owner. */
  clicks?: ClickBursts
  log?: (msg: string, extra?: Record<string, unknown>) => void
  now?: () => number
}

/**
 * The public endpoints in every email: open pixel, click redirect, view in browser, unsubscribe
 * and preferences. Each is authorised by its signed token alone; a token that does not verify is
 * a 404 — never a redirect to wherever the request says (no open redirect). Machine opens and
 * scanner clicks are recorded and flagged, not dropped.
 */
export function trackingRouter(d: TrackingRouteDeps): Router {
  const r = Router()
  const now = d.now ?? Date.now
  const bad = () => new NotFoundError('This link is not valid (it may have been changed or cut off)')
  const verify = <K extends 'o' | 'c' | 'u' | 'v'>(token: string, kind: K) => {
    const p = verifyToken(d.key, token)
    if (!p || p.k !== kind) throw bad()
    return p as Extract<NonNullable<typeof p>, { k: K }>
  }
  const agent = (req: Request) => req.get('user-agent') ?? ''
  // Different links of one message clicked in the last second: a scanner walks them all at once.
  const clicks = d.clicks ?? new ClickBursts()

  r.get('/t/o/:token', async (req, res, next) => {
    try {
      const p = verify(req.params.token!, 'o')
      res.set('cache-control', 'no-store, private').type('image/gif').send(GIF)
      // Erased mail: dropped and counted, never stored (the engagement layer decides).
      if (d.outcomes.dropsErased('open', p.m)) return
      const message = await d.messages.get(p.m)
      if (!message) return
      const at = now()
      const c = classifyOpen({ userAgent: agent(req), ip: req.ip, at, sentAt: message.sentAt })
      await d.outcomes.record({
        kind: 'open',
        message,
        at,
        machine: c.machine,
        ...(c.reason ? { machineReason: c.reason } : {}),
        userAgent: agent(req),
      })
    } catch (err) {
      if (!res.headersSent) next(err)
      else d.log?.('open not recorded', { err: String(err) })
    }
  })

  const click = async (req: Request, res: express.Response, next: express.NextFunction) => {
    try {
      const p = verify(String(req.params.token), 'c')
      res.redirect(302, p.u)
      if (d.outcomes.dropsErased('click', p.m)) return
      const message = await d.messages.get(p.m)
      if (!message) return
      const at = now()
      const c = classifyClick({
        userAgent: agent(req),
        ip: req.ip,
        method: req.method,
        at,
        sentAt: message.sentAt,
        linksClickedWithinSecond: clicks.click(p.m, p.i, at),
      })
      await d.outcomes.record({
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
      else d.log?.('click not recorded', { err: String(err) })
    }
  }
  r.get('/t/c/:token', click)
  r.head('/t/c/:token', click)

  r.get('/t/v/:token', async (req, res, next) => {
    try {
      const p = verify(req.params.token!, 'v')
      if (d.outcomes.dropsErased('view', p.m)) throw new NotFoundError('This message is no longer available online')
      const [row] = await selectRows<{ html: string }>(d.client, 'SELECT html FROM message_bodies WHERE message_id = {id:String} LIMIT 1', {
        id: p.m,
      })
      if (!row) throw new NotFoundError('This message is no longer available online')
      sendStoredMail(res, row.html)
    } catch (err) {
      next(err)
    }
  })

  const unsubscribe = async (p: { m: string; t: string; uk: string }, topics: string[], granted: Record<string, boolean>) => {
    // Erased mail: its recipient is gone; a consent row now would bring them back.
    if (d.outcomes.dropsErased('unsubscribe', p.m)) return
    const changedAt = now()
    const changes = topics.map((topic) => ({
      userKey: p.uk,
      topic,
      granted: granted[topic] ?? false,
      changedAt,
      source: 'unsubscribe' as const,
    }))
    // Through the writer: stored, and the journey router ends running journeys of that topic at once.
    await d.writer.write({ events: [], consent: changes })
    const message = await d.messages.get(p.m)
    if (message && changes.some((c) => !c.granted)) await d.outcomes.record({ kind: 'unsubscribe', message, at: changedAt })
  }
  const page = (p: { t: string; uk: string }, token: string, done: boolean) =>
    preferencesPage({
      topics: Object.entries(d.topics).map(([topic, label]) => ({ topic, label, subscribed: d.consent.isGranted(p.uk, topic) })),
      actionUrl: `${d.publicUrl().replace(/\/+$/, '')}/u/${token}`,
      done,
    })

  r.get('/u/:token', (req, res, next) => {
    try {
      const p = verify(req.params.token!, 'u')
      if (d.outcomes.dropsErased('preferences', p.m)) throw new NotFoundError('This link is no longer available')
      res
        .set('cache-control', 'no-store')
        .set('referrer-policy', 'no-referrer')
        .type('html')
        .send(page(p, req.params.token!, false))
    } catch (err) {
      next(err)
    }
  })
  r.post('/u/:token', readBody({ limitBytes: 16 * 1024, as: 'bytes' }), async (req, res, next) => {
    try {
      const p = verify(req.params.token!, 'u')
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      // RFC 8058 one-click: the mailbox provider's POST, no page, no second step.
      if (isOneClickBody(req.get('content-type'), body)) {
        await unsubscribe(p, [p.t], {})
        res.status(200).type('text').send('Unsubscribed.')
        return
      }
      if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(req.get('content-type') ?? ''))
        throw new ValidationError('Send the preferences form or an RFC 8058 one-click body', [
          { path: '(body)', rule: 'content_type', message: 'must be application/x-www-form-urlencoded or multipart/form-data' },
        ])
      const form = parsePreferencesForm(body)
      const all = Object.keys(d.topics)
      const keep = form.action === 'unsubscribe_all' ? new Set<string>() : new Set(form.topics.filter((t) => all.includes(t)))
      await unsubscribe(p, all, Object.fromEntries(all.map((t) => [t, keep.has(t)])))
      res
        .set('cache-control', 'no-store')
        .type('html')
        .send(page(p, req.params.token!, true))
    } catch (err) {
      next(err)
    }
  })
  return r
}

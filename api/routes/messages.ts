import { Router } from 'express'
import { z } from 'zod'
import { NotFoundError, errorBody } from '../../core/errors.js'
import { type CaptureMailbox, capturedMessage } from '../../delivery/captureMailbox.js'
import { type RouteSpec, validated } from '../route.js'
import { isoDateTime } from '../../core/wireSchemas.js'
import { storedMailHeaders } from '../securityHeaders.js'

export const messageSpecs = {
  list: {
    method: 'get',
    path: '/api/messages',
    summary: 'Messages in the capture mailbox (embedded default; test accounts’ mail), newest first; retries of one Message-ID collapse',
    tag: 'Messages',
    auth: 'admin',
    query: z.object({
      to: z.string().max(320).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      before: isoDateTime.optional().describe('Only messages received before this time'),
    }),
    responses: { 200: { description: 'Messages', schema: z.object({ messages: z.array(capturedMessage) }) } },
  },
  raw: {
    method: 'get',
    path: '/api/messages/:id',
    summary: 'One captured message as raw MIME (message/rfc822)',
    tag: 'Messages',
    auth: 'admin',
    params: z.object({ id: z.string().min(1).max(200) }),
    responses: {
      200: { description: 'The raw message', contentType: 'message/rfc822' },
      404: { description: 'Not captured', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

export function messagesRouter(mailbox: CaptureMailbox): Router {
  const r = Router()
  r.get(
    messageSpecs.list.path,
    validated(messageSpecs.list, async ({ query, reply }) => {
      reply(200, { messages: await mailbox.list(query) })
    }),
  )
  r.get(
    messageSpecs.raw.path,
    validated(messageSpecs.raw, async ({ params, reply }, _req, res) => {
      const raw = await mailbox.raw(params.id)
      if (raw === undefined) throw new NotFoundError(`No captured message "${params.id}"`)
      // Stored mail: served with the sandbox CSP whatever a client makes of the type.
      storedMailHeaders(res)
      reply(200, raw)
    }),
  )
  return r
}

/**
 * The mailbox as a page. The admin key is asked for once per browser tab and kept in that tab's
 * sessionStorage only (never localStorage: it would outlive the tab and be readable by any later
 * script of this origin). The page's own script is a file (the page CSP allows no inline script),
 * and a captured message is shown only inside a sandboxed iframe without allow-scripts.
 */
export function messagesPage(): Router {
  const r = Router()
  r.get('/messages', (_req, res) => {
    res.set('cache-control', 'no-store').type('html').send(`<!doctype html><meta charset="utf-8"><title>Nudge — captured mail</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left}iframe{width:100%;height:60vh;border:1px solid #ccc}</style>
<h1>Captured mail</h1><table id="t"><tr><th>Received</th><th>To</th><th>Subject</th><th>Deliveries</th></tr></table><iframe id="f" sandbox></iframe>
<script src="/messages/app.js"></script>`)
  })
  r.get('/messages/app.js', (_req, res) => {
    res.set('cache-control', 'no-store').type('text/javascript').send(MESSAGES_APP)
  })
  return r
}

const MESSAGES_APP = `'use strict'
// Older versions kept the key in localStorage: forget it.
localStorage.removeItem('nudgeAdminKey')
const askKey = () => {
  const key = prompt('Admin API key (kept in this tab only)') || ''
  sessionStorage.setItem('nudgeAdminKey', key)
  return key
}
let key = sessionStorage.getItem('nudgeAdminKey') || askKey()
const api = (path) => fetch(path, { headers: { authorization: 'Bearer ' + key } }).then((r) => {
  if (r.status === 401) { sessionStorage.removeItem('nudgeAdminKey'); throw new Error('The admin key was refused; reload to enter it again') }
  return r
})
const td = (s) => { const c = document.createElement('td'); c.textContent = s; return c }
const escape = (s) => s.replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))
api('/api/messages?limit=200').then((r) => r.json()).then(({ messages }) => {
  for (const m of messages || []) {
    const tr = document.createElement('tr'); tr.style.cursor = 'pointer'
    tr.append(td(m.receivedAt), td(m.to.join(', ')), td(m.subject), td(String(m.deliveries)))
    // The message as text in a sandboxed iframe: mail markup never becomes part of this page.
    tr.onclick = () => api('/api/messages/' + encodeURIComponent(m.messageId)).then((r) => r.text()).then((raw) => {
      document.getElementById('f').srcdoc = '<pre>' + escape(raw) + '</pre>'
    })
    document.getElementById('t').append(tr)
  }
}).catch((err) => { document.body.append(document.createTextNode(String(err.message || err))) })
`

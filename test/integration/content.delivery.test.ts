import { type AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, uid, useTestNudge } from '../helpers/harness.js'
import { activeJourney, endedRun, identify, track, waitFor } from '../helpers/journeys.js'
import { type FakeSns, startFakeSns } from '../helpers/signedWebhooks.js'

/**
 * Personalized mail end to end through a real SMTP server on loopback (SMTP_URL): the MIME a
 * mailbox provider receives — HTML and text parts, RFC 8058 headers — and what its links do:
 * tracked clicks resolve to their targets (tampered tokens do not), the pixel records an open, and
 * one-click unsubscribe changes consent at once.
 */
const received: { to: string; raw: string }[] = []
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, session, done) {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => {
      for (const r of session.envelope.rcptTo) received.push({ to: r.address, raw: Buffer.concat(chunks).toString('utf8') })
      done()
    })
  },
})
let smtpPort = 0
// SES reports come through SNS, signed: a stand-in SNS with its own certificate on loopback.
let sns: FakeSns
const WEBHOOK_KEY = 'whk_delivery_test_0123456789'
beforeAll(async () => {
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()))
  smtpPort = (smtp.server.address() as AddressInfo).port
  sns = await startFakeSns('eu-west-1')
})
afterAll(async () => {
  await sns?.close()
  await new Promise<void>((resolve) => smtp.close(() => resolve()))
})

describe('content and engagement tracking', () => {
  const fx = useTestNudge({
    role: 'all',
    env: () => ({
      CONFIG_POLL_MS: '100',
      FREQUENCY_CAP: '',
      QUIET_HOURS: '',
      LOG_LEVEL: 'warn',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      WEBHOOK_KEY,
    }),
    webhookHttpGet: (url) => sns.httpGet(url),
  })
  const base = () => fx.nudge.url!

  async function shopper() {
    const userId = uid('reader')
    const email = `${userId}@example.test`
    await identify(base(), userId, { email, first_name: 'Ada <Lovelace>', locale: 'de-DE', currency: 'EUR' })
    return { userId, email }
  }
  const inbox = (email: string) => waitFor(async () => received.find((m) => m.to === email), 20_000, `mail to ${email}`)

  it('a journey email: MJML rendered to HTML and text parts, personalized and escaped, RFC 8058 headers, tracked links and pixel', async () => {
    const id = uid('cj')
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Product Added', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [{ id: 'mail', type: 'send', template: 'cart-reminder' }],
    })
    const { userId, email } = await shopper()
    await track(base(), userId, 'Product Added', {
      lane: id,
      product_id: 'p-9',
      name: 'Trail Runner',
      price: 89.5,
      image_url: 'https://cdn.example/p-9.jpg',
      url: 'https://shop.example/p-9',
      cart_url: 'https://shop.example/cart?id=1&x=2',
    })
    const mail = await simpleParser((await inbox(email)).raw)

    expect(mail.subject).toBe('Ada <Lovelace>, your cart is waiting')
    const html = String(mail.html)
    expect(html).toContain('Ada &lt;Lovelace&gt;') // a trait never becomes markup
    expect(html).not.toContain('<Lovelace>')
    expect(html).toContain('https://cdn.example/p-9.jpg')
    expect(html).toMatch(/89,50\s*€/) // money in the user's locale and currency
    expect(html).toContain('mj-column') // MJML's responsive layout, compiled
    expect(mail.text).toContain('You left something in your cart')
    expect(mail.text).toContain('Hi Ada <Lovelace>') // plain text: the name as written, no markup
    expect(mail.text).not.toMatch(/<\/?(table|td|div|p|a)\b/)
    const header = (name: string) => mail.headerLines.find((h) => h.key === name)?.line ?? ''
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click')
    const listUnsub = header('list-unsubscribe')
    expect(listUnsub).toMatch(/<http:\/\/127\.0\.0\.1:\d+\/u\/[\w.-]+>/)
    expect(listUnsub).toMatch(/<mailto:unsubscribe\+[\w.-]+@/)

    // Every web link goes through /t/c/… and lands on its target; the pixel is there.
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'))
    const tracked = links.filter((l) => l.includes('/t/c/'))
    expect(tracked.length).toBeGreaterThan(0)
    expect(links.filter((l) => /^https:\/\/shop\.example/.test(l))).toEqual([]) // none left untracked
    const targets = await Promise.all(
      tracked.map(async (l) =>
        (await fetch(l, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605' } })).headers.get('location'),
      ),
    )
    expect(targets).toContain('https://shop.example/cart?id=1&x=2')
    expect(targets).toContain('https://shop.example/p-9')
    // Tampered: another URL in the payload, or a cut-off token → 404, never a redirect.
    const token = tracked[0]!.split('/t/c/')[1]!
    const [payload, mac] = token.split('.')
    const forged = `${Buffer.from(
      Buffer.from(payload!, 'base64url')
        .toString()
        .replace(/https:\/\/[^"]+/, 'https://evil.example/'),
    ).toString('base64url')}.${mac}`
    for (const t of [forged, token.slice(0, -3), 'nonsense']) {
      const res = await fetch(`${base()}/t/c/${t}`, { redirect: 'manual' })
      expect(res.status).toBe(404)
      expect(res.headers.get('location')).toBeNull()
    }
    const pixel = /src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1]!
    const img = await fetch(pixel.replace(/&amp;/g, '&'), { headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Thunderbird/115' } })
    expect(img.headers.get('content-type')).toBe('image/gif')

    const messageId = String(mail.headers.get('x-nudge-message-id'))
    const outcomes = await waitFor(async () => {
      const rows = await selectRows<{ event: string; journey_id: string; step_id: string; url: string }>(
        fx.nudge.store.client,
        'SELECT event, journey_id, step_id, url FROM message_events WHERE message_id = {m:String}',
        { m: messageId },
      )
      return rows.some((r) => r.event === 'open') && rows.filter((r) => r.event === 'click').length >= 2 && rows
    })
    expect(outcomes.every((r) => r.journey_id === id && r.step_id === 'mail')).toBe(true)
    expect(outcomes.map((r) => r.event)).toContain('delivered')
    // The discount code in the mail is recorded for this message.
    const code = /SAVE-[0-9A-F]{8}/.exec(html)![0]
    const [row] = await selectRows<{ message_id: string }>(
      fx.nudge.store.client,
      'SELECT message_id FROM discount_codes WHERE code = {c:String}',
      { c: code },
    )
    expect(row?.message_id).toBe(messageId)
    // The send's latency is in /metrics (from its trigger being received, by journey).
    const metrics = await (await fetch(`${base()}/metrics`)).text()
    expect(metrics).toMatch(new RegExp(`nudge_trigger_latency_seconds_count\\{journey="${id}",kind="received_to_sent"\\} 1`))
    // View in browser shows the same message.
    const view = /href="([^"]+\/t\/v\/[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&')
    expect(await (await fetch(view)).text()).toContain(code)
  }, 60_000)

  it('machine opens and scanner clicks are recorded and flagged, not dropped', async () => {
    const id = uid('mj')
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Product Viewed', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [{ id: 'mail', type: 'send', template: 'browse-offer' }],
    })
    const { userId, email } = await shopper()
    await track(base(), userId, 'Product Viewed', {
      lane: id,
      product_id: 'p-1',
      name: 'Boot',
      price: 120,
      url: 'https://shop.example/p-1',
    })
    const mail = await simpleParser((await inbox(email)).raw)
    const html = String(mail.html)
    const link = /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&')
    const pixel = /src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&')
    await fetch(link, { method: 'HEAD', redirect: 'manual' }) // a link scanner's HEAD
    await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0' } }) // Apple Mail Privacy Protection's bare agent
    const messageId = String(mail.headers.get('x-nudge-message-id'))
    const rows = await waitFor(async () => {
      const r = await selectRows<{ event: string; machine: number; machine_reason: string }>(
        fx.nudge.store.client,
        "SELECT event, machine, machine_reason FROM message_events WHERE message_id = {m:String} AND event IN ('open', 'click')",
        { m: messageId },
      )
      return r.length >= 2 && r
    })
    expect(rows.find((r) => r.event === 'click')).toMatchObject({ machine: 1, machine_reason: 'head_request' })
    expect(Number(rows.find((r) => r.event === 'open')!.machine)).toBe(1)
  }, 60_000)

  it('one-click unsubscribe (RFC 8058 POST) changes consent at once and ends the running journey before its next send', async () => {
    const id = uid('uj')
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Product Added', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [
        { id: 'first', type: 'send', template: 'cart-reminder' },
        { id: 'wait', type: 'delay', duration: '3s' },
        { id: 'second', type: 'send', template: 'cart-reminder' },
      ],
    })
    const { userId, email } = await shopper()
    await track(base(), userId, 'Product Added', { lane: id, product_id: 'p-2', name: 'Sock', price: 5 })
    const mail = await simpleParser((await inbox(email)).raw)
    const unsubUrl = /<(http[^>]+\/u\/[^>]+)>/.exec(mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line)![1]!
    // The preferences page (GET) is a page, and changes nothing.
    const page = await fetch(unsubUrl)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<form')
    expect((await admin(`${base()}/api/consent/${userId}`)).json.consent.marketing).toBe(true)
    const res = await fetch(unsubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    })
    expect(res.status).toBe(200)
    expect((await admin(`${base()}/api/consent/${userId}`)).json.consent.marketing).toBe(false)
    const run = await endedRun(base(), id, userId, 20_000)
    expect(run.outcome).toMatch(/opt_out|consent/)
    expect(received.filter((m) => m.to === email)).toHaveLength(1)
    const messageId = String(mail.headers.get('x-nudge-message-id'))
    const [row] = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      "SELECT count() AS n FROM message_events WHERE message_id = {m:String} AND event = 'unsubscribe'",
      { m: messageId },
    )
    expect(Number(row!.n)).toBe(1)
  }, 60_000)

  it('bounce and complaint webhooks: outcomes on the message, a hard bounce suppresses the address, soft bounces count, bad payloads are 400s naming the field', async () => {
    const id = uid('bj')
    await activeJourney(base(), {
      id,
      name: id,
      trigger: { type: 'event', event: 'Product Viewed', where: [{ path: 'lane', op: 'eq', value: id }] },
      steps: [{ id: 'mail', type: 'send', template: 'browse-social-proof' }],
    })
    const hook = (provider: string, body: unknown, key = WEBHOOK_KEY) =>
      fetch(`${base()}/webhooks/email/${provider}`, {
        method: 'POST',
        headers: { 'content-type': provider === 'ses' ? 'text/plain' : 'application/json', 'x-nudge-webhook-key': key },
        body: JSON.stringify(body),
      })

    // SES (through SNS) hard-bounces the first shopper's message: its outcome, then suppression.
    const a = await shopper()
    await track(base(), a.userId, 'Product Viewed', { lane: id, product_id: 'p-1', name: 'Boot' })
    const mailA = await simpleParser((await inbox(a.email)).raw)
    const idA = String(mailA.headers.get('x-nudge-message-id'))
    const ses = sns.message({
      Type: 'Notification',
      Message: JSON.stringify({
        notificationType: 'Bounce',
        mail: {
          messageId: 'ses-1',
          timestamp: new Date().toISOString(),
          source: 'shop@example.com',
          destination: [a.email],
          headers: [{ name: 'Message-ID', value: `<${idA}@nudge.local>` }],
        },
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          timestamp: new Date().toISOString(),
          bouncedRecipients: [{ emailAddress: a.email }],
        },
      }),
    })
    const res = await hook('ses', ses)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ received: 1, matched: 1, suppressed: 1 })
    expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(a.email)}`)).json).toMatchObject({
      suppressed: true,
      reason: 'hard_bounce',
    })
    const [bounce] = await waitFor(async () => {
      const r = await selectRows<{ bounce_type: string; provider: string; journey_id: string }>(
        fx.nudge.store.client,
        "SELECT bounce_type, provider, journey_id FROM message_events WHERE message_id = {m:String} AND event = 'bounce'",
        { m: idA },
      )
      return r.length > 0 && r
    })
    expect(bounce).toMatchObject({ bounce_type: 'hard', provider: 'ses', journey_id: id })
    // The next trigger for that address is skipped as suppressed: no second email.
    await track(base(), a.userId, 'Product Viewed', { lane: id, product_id: 'p-2', name: 'Hat' }, { messageId: uid('again') })
    await waitFor(async () => {
      const rows = await selectRows<{ reason: string }>(
        fx.nudge.store.client,
        "SELECT reason FROM journey_steps WHERE journey_id = {j:String} AND user_key = {u:String} AND outcome = 'skipped'",
        { j: id, u: a.userId },
      )
      return rows.some((r) => r.reason === 'suppressed')
    })
    expect(received.filter((m) => m.to === a.email)).toHaveLength(1)

    // SendGrid: a complaint by address (no message id) suppresses too; soft bounces (generic format) only count.
    const b = await shopper()
    await track(base(), b.userId, 'Product Viewed', { lane: id, product_id: 'p-3', name: 'Cap' })
    await inbox(b.email)
    const sg = await hook('sendgrid', [
      { email: b.email, timestamp: Math.floor(Date.now() / 1000), event: 'spamreport', sg_message_id: 'sg-1' },
    ])
    expect(await sg.json()).toMatchObject({ received: 1, matched: 1, suppressed: 1 })
    const c = await shopper()
    const soft = await hook('nudge', { events: [{ type: 'bounce', bounceType: 'soft', email: c.email }] })
    expect(await soft.json()).toMatchObject({ received: 1, suppressed: 0 })
    expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(c.email)}`)).json.suppressed).toBe(false)

    // Soft bounces on a delivered message count; the third within 30 days suppresses at send time.
    const d = await shopper()
    await track(base(), d.userId, 'Product Viewed', { lane: id, product_id: 'p-4', name: 'Bag' })
    const idD = String((await simpleParser((await inbox(d.email)).raw)).headers.get('x-nudge-message-id'))
    for (let i = 0; i < 3; i++)
      expect((await hook('nudge', { events: [{ type: 'bounce', bounceType: 'soft', messageId: idD }] })).status).toBe(200)
    await waitFor(async () => {
      const r = await selectRows<{ n: string }>(
        fx.nudge.store.client,
        "SELECT count() AS n FROM events WHERE user_key = {u:String} AND event = 'Email Bounced'",
        { u: d.userId },
      )
      return Number(r[0]!.n) >= 3
    })
    await track(base(), d.userId, 'Product Viewed', { lane: id, product_id: 'p-5', name: 'Belt' }, { messageId: uid('again') })
    await waitFor(async () => {
      const rows = await selectRows<{ reason: string }>(
        fx.nudge.store.client,
        "SELECT reason FROM journey_steps WHERE journey_id = {j:String} AND user_key = {u:String} AND outcome = 'skipped'",
        { j: id, u: d.userId },
      )
      return rows.some((r) => r.reason === 'suppressed')
    })
    expect(received.filter((m) => m.to === d.email)).toHaveLength(1)

    // One report delivered three times (an ESP retry, an SNS redelivery, a replay): one event, no suppression.
    const e = await shopper()
    await track(base(), e.userId, 'Product Viewed', { lane: id, product_id: 'p-6', name: 'Scarf' })
    const idE = String((await simpleParser((await inbox(e.email)).raw)).headers.get('x-nudge-message-id'))
    const report = {
      events: [{ type: 'bounce', bounceType: 'soft', messageId: idE, timestamp: new Date(Date.now() - 1000).toISOString() }],
    }
    for (let i = 0; i < 3; i++) expect((await hook('nudge', report)).status).toBe(200)
    // A different report (another time) is another bounce.
    expect((await hook('nudge', { events: [{ ...report.events[0]!, timestamp: new Date().toISOString() }] })).status).toBe(200)
    await fx.nudge.journeys.outcomes.settled()
    await fx.nudge.writer.drain()
    const bouncesOfE = await selectRows<{ n: string }>(
      fx.nudge.store.client,
      "SELECT count() AS n FROM events WHERE user_key = {u:String} AND event = 'Email Bounced'",
      { u: e.userId },
    )
    expect(Number(bouncesOfE[0]!.n)).toBe(2)

    // Bad input: a missing field is named; a wrong key is refused; an unknown provider is a 404.
    const bad = await hook('nudge', { events: [{ type: 'bounce' }] })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(await bad.json())).toContain('events[0].email')
    expect((await hook('nudge', { events: [{ type: 'bounce', email: c.email }] }, 'wrong-key')).status).toBe(401)
    expect((await hook('mailgun', {})).status).toBe(404)
    expect(
      (
        await fetch(`${base()}/webhooks/email/nudge`, {
          method: 'POST',
          headers: { 'x-nudge-webhook-key': WEBHOOK_KEY },
          body: '{not json',
        })
      ).status,
    ).toBe(400)
  }, 60_000)
})

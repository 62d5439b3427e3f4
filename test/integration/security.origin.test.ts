import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STORED_MAIL_CSP } from '../../api/securityHeaders.js'
import { ADMIN_KEY, admin, basic, uid, useTestNudge } from '../helpers/harness.js'
import { waitFor } from '../helpers/journeys.js'
import { openViaAppleProxy, seedSentMessage } from '../helpers/sentMessage.js'
import { type FakeSns, fakeSendGrid, startFakeSns } from '../helpers/signedWebhooks.js'

/**
 * What Nudge's origin serves and whom it believes: stored mail under a sandbox CSP, security
 * headers on every response; bounce webhooks only with WEBHOOK_KEY (never the admin key, never in
 * the URL), SNS and SendGrid signatures verified against a real key pair; X-Forwarded-For ignored
 * unless TRUST_PROXY says otherwise; /metrics behind METRICS_KEY when it is set.
 */
const WEBHOOK_KEY = 'whk_test_0123456789abcdef'
const METRICS_KEY = 'metrics_test_0123456789'
const sendGrid = fakeSendGrid()
let sns: FakeSns
beforeAll(async () => {
  sns = await startFakeSns()
})
afterAll(() => sns?.close())

describe("Nudge's origin", () => {
  const fx = useTestNudge({
    role: 'api',
    env: {
      WEBHOOK_KEY,
      METRICS_KEY,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendGrid.publicKey,
      SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:123456789012:ses-events',
      WEBHOOK_MAX_AGE: '1h',
    },
    webhookHttpGet: (url) => sns.httpGet(url),
  })
  const base = () => fx.nudge.url
  const hook = (provider: string, body: string, headers: Record<string, string> = {}, query = '') =>
    fetch(`${base()}/webhooks/email/${provider}${query}`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body })
  const withKey = { 'x-nudge-webhook-key': WEBHOOK_KEY }
  const bounceOf = (email: string) => ({ events: [{ type: 'bounce', bounceType: 'soft', email }] })

  it('view in browser serves the stored mail under the sandbox CSP (no script, no framing, no sniffing)', async () => {
    const m = await seedSentMessage(fx.nudge, {
      html: '<html><head><title>Mail</title></head><body><p>Hi</p><script>document.title = "pwned"</script></body></html>',
    })
    const res = await fetch(`${base()}/t/v/${m.view}`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toBe(STORED_MAIL_CSP)
    expect(csp).toMatch(/^sandbox\b/)
    expect(csp).not.toContain('allow-scripts')
    expect(csp).not.toContain('allow-same-origin')
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('cache-control')).toContain('no-store')
    expect(await res.text()).toContain('<p>Hi</p>')
  })

  it('a captured message is served under the sandbox CSP too', async () => {
    const { createTransport } = await import('nodemailer')
    const to = `${uid('cap')}@example.test`
    await createTransport({ host: '127.0.0.1', port: fx.nudge.journeys.mailbox.port, secure: false, ignoreTLS: true }).sendMail({
      from: 'a@example.test',
      to,
      subject: 'captured',
      messageId: `<${uid('mid')}@example.test>`,
      html: '<script>alert(1)</script>',
    })
    const listed = await waitFor(
      async () => (await admin(`${base()}/api/messages?to=${encodeURIComponent(to)}`)).json.messages[0],
      10_000,
      'captured message',
    )
    const res = await fetch(`${base()}/api/messages/${encodeURIComponent(listed.messageId)}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toBe(STORED_MAIL_CSP)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it("every response carries the security headers; Nudge's own pages allow script from this origin only", async () => {
    for (const path of ['/health', '/messages', '/docs', '/openapi.json', '/api/users/nobody', '/no-such-route']) {
      const res = await fetch(`${base()}${path}`)
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
      expect(res.headers.get('x-frame-options'), path).toBe('DENY')
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp, path).toContain("script-src 'self'")
      expect(csp, path).toContain("frame-ancestors 'none'")
      expect(
        csp.split(';').find((d) => d.trim().startsWith('script-src')),
        path,
      ).not.toContain('unsafe')
    }
    // The pages load their script as files, not inline (which the CSP would block).
    for (const path of ['/messages', '/docs'])
      expect(await (await fetch(`${base()}${path}`)).text(), path).not.toMatch(/<script>(?!<\/script>)/)
    const app = await (await fetch(`${base()}/messages/app.js`)).text()
    expect(app).toContain('sessionStorage')
    expect(app).not.toMatch(/localStorage\.(nudgeAdminKey\s*=|setItem)/)
  })

  it('webhooks accept WEBHOOK_KEY from a header or HTTP Basic — never the admin key, never a key in the URL', async () => {
    const body = JSON.stringify(bounceOf(`${uid('wk')}@example.test`))
    expect((await hook('nudge', body, withKey)).status).toBe(200)
    expect((await hook('nudge', body, { authorization: `Bearer ${WEBHOOK_KEY}` })).status).toBe(200)
    expect((await hook('nudge', body, { authorization: `Basic ${Buffer.from(`nudge:${WEBHOOK_KEY}`).toString('base64')}` })).status).toBe(
      200,
    )
    // The admin key opens no webhook, in a header or in the URL; no key is taken from the URL.
    expect((await hook('nudge', body, { 'x-nudge-webhook-key': ADMIN_KEY })).status).toBe(401)
    expect((await hook('nudge', body, { authorization: `Bearer ${ADMIN_KEY}` })).status).toBe(401)
    expect((await hook('nudge', body, { authorization: basic(ADMIN_KEY) })).status).toBe(401)
    expect((await hook('nudge', body, {}, `?key=${ADMIN_KEY}`)).status).toBe(401)
    const inUrl = await hook('nudge', body, {}, `?key=${WEBHOOK_KEY}`)
    expect(inUrl.status).toBe(401)
    expect(((await inUrl.json()) as { error: { message: string } }).error.message).toMatch(/URL/)
    expect((await hook('nudge', body, { 'x-nudge-webhook-key': 'whk_wrong_0123456789abcd' })).status).toBe(401)
    // No key: a Basic challenge, which is when SNS sends its endpoint URL's credentials.
    const none = await hook('nudge', body)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /)
  })

  const sesBounce = (email: string) =>
    JSON.stringify({
      notificationType: 'Bounce',
      mail: { messageId: uid('ses'), timestamp: new Date().toISOString(), destination: [email] },
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        timestamp: new Date().toISOString(),
        bouncedRecipients: [{ emailAddress: email }],
      },
    })

  it('SES through SNS: a signed notification (SignatureVersion 1 and 2) is recorded; the certificate is fetched once from SNS’s host', async () => {
    for (const version of ['1', '2'] as const) {
      const email = `${uid(`sns${version}`)}@example.test`
      const res = await hook(
        'ses',
        JSON.stringify(
          sns.message({ Type: 'Notification', Message: sesBounce(email), Subject: 'Amazon SES Email Event Notification' }, version),
        ),
        withKey,
      )
      expect(res.status, await res.clone().text()).toBe(200)
      expect(await res.json()).toMatchObject({ received: 1, suppressed: 1 })
      expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(email)}`)).json).toMatchObject({
        suppressed: true,
        reason: 'hard_bounce',
      })
    }
    // A notification without a Subject signs no Subject line.
    expect(
      (
        await hook(
          'ses',
          JSON.stringify(sns.message({ Type: 'Notification', Message: sesBounce(`${uid('nosubj')}@example.test`) })),
          withKey,
        )
      ).status,
    ).toBe(200)
    expect(sns.fetched.filter((u) => u === sns.certUrl)).toHaveLength(1)
  })

  it('SNS: a tampered body, a certificate URL off SNS’s host, an old or foreign message, an unsigned body or the admin key are refused — and nothing off-host is fetched', async () => {
    const email = `${uid('forged')}@example.test`
    const good = sns.message({ Type: 'Notification', Message: sesBounce(email) })
    const refused = async (body: unknown, headers: Record<string, string> = withKey) => {
      const res = await hook('ses', JSON.stringify(body), headers)
      return res.status
    }
    const before = sns.fetched.length
    expect(await refused({ ...good, Message: sesBounce(`${uid('victim')}@example.test`) })).toBe(401)
    for (const host of [
      'https://sns.evil.com/cert.pem',
      'https://sns.us-east-1.amazonaws.com.evil.com/cert.pem',
      `http://sns.us-east-1.amazonaws.com${new URL(sns.certUrl).pathname}`,
      `https://sns.us-east-1.amazonaws.com:8443${new URL(sns.certUrl).pathname}`,
      'https://evil.com/?x=https://sns.us-east-1.amazonaws.com/a.pem',
    ])
      expect(await refused(sns.resign({ ...good, SigningCertURL: host })), host).toBe(401)
    expect(await refused(sns.resign({ ...good, Timestamp: new Date(Date.now() - 2 * 3_600_000).toISOString() }))).toBe(401)
    expect(await refused(sns.resign({ ...good, TopicArn: 'arn:aws:sns:us-east-1:999999999999:someone-elses' }))).toBe(401)
    const { Signature: _s, SignatureVersion: _v, SigningCertURL: _c, ...unsigned } = good
    expect(await refused(unsigned)).toBe(401)
    expect(await refused(JSON.parse(good.Message))).toBe(401) // raw message delivery: nothing signed
    expect(await refused(good, { 'x-nudge-webhook-key': ADMIN_KEY })).toBe(401)
    expect(sns.fetched.slice(before).every((u) => u === sns.certUrl)).toBe(true)
    expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(email)}`)).json.suppressed).toBe(false)
    // The untouched message still goes through.
    expect(await refused(good)).toBe(200)
  })

  it('SNS subscription confirmation: signed → its SubscribeURL is fetched once; a forged one is not fetched', async () => {
    const confirm = sns.message({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe…' })
    const before = sns.fetched.length
    const forged = await hook(
      'ses',
      JSON.stringify({
        ...confirm,
        SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=attacker&Token=x',
      }),
      withKey,
    )
    expect(forged.status).toBe(401)
    expect(sns.fetched.slice(before).filter((u) => u.includes('ConfirmSubscription'))).toHaveLength(0)
    const res = await hook('ses', JSON.stringify(confirm), withKey)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ confirmed: true })
    expect(sns.fetched.slice(before).filter((u) => u === confirm.SubscribeURL)).toHaveLength(1)
  })

  it('SendGrid: the Signed Event Webhook is verified over the raw body; tampered, old, unsigned or admin-keyed requests are refused', async () => {
    const email = `${uid('sg')}@example.test`
    // Raw bytes as SendGrid sends them (spacing and key order matter to the signature).
    const body = `[ {"email":"${email}", "timestamp":${Math.floor(Date.now() / 1000)}, "event":"spamreport", "sg_message_id":"sg-1"} ]`
    const json = { 'content-type': 'application/json' }
    expect(
      (await hook('sendgrid', body.replace('spamreport', 'delivered'), { ...json, ...withKey, ...sendGrid.headers(body) })).status,
    ).toBe(401)
    expect(
      (await hook('sendgrid', body, { ...json, ...withKey, ...sendGrid.headers(body, Math.floor(Date.now() / 1000) - 2 * 3600) })).status,
    ).toBe(401)
    expect((await hook('sendgrid', body, { ...json, ...withKey })).status).toBe(401)
    expect((await hook('sendgrid', body, { ...json, 'x-nudge-webhook-key': ADMIN_KEY, ...sendGrid.headers(body) })).status).toBe(401)
    expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(email)}`)).json.suppressed).toBe(false)
    const res = await hook('sendgrid', body, { ...json, ...withKey, ...sendGrid.headers(body) })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ received: 1, suppressed: 1 })
    expect((await admin(`${base()}/api/suppressions/${encodeURIComponent(email)}`)).json).toMatchObject({
      suppressed: true,
      reason: 'complaint',
    })
  })

  it('X-Forwarded-For is ignored by default: an open "from" an Apple Mail Privacy Protection address through an untrusted hop is a human open', async () => {
    expect(await openViaAppleProxy(fx.nudge)).toMatchObject({ machine: 0, machine_reason: '' })
  })

  it('/metrics needs METRICS_KEY as a Bearer token when it is set', async () => {
    expect((await fetch(`${base()}/metrics`)).status).toBe(401)
    expect((await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(401)
    const res = await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('nudge_')
  })
})

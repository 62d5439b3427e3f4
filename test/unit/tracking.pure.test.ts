import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../core/errors.js'
import { DEFAULT_DETECTION, classifyClick, classifyOpen, isAppleIp } from '../../delivery/engagement/machineDetection.js'
import { decodeEntities, insertBeforeBodyEnd, openPixel, rewriteLinks } from '../../content/tracking/rewriteLinks.js'
import { type TokenPayload, signToken, verifyToken } from '../../content/tracking/tokens.js'
import { isOneClickBody, parsePreferencesForm, preferencesPage, unsubscribeHeaders } from '../../delivery/unsubscribeHeaders.js'
import { WebhookPayloadError, messageIdFromHeader, normalizeWebhook } from '../../delivery/webhooks/webhookFormats.js'

const key = randomBytes(32)
const MSG = '6f1c2a9e-3b7d-4c55-9a1e-0d2f4b8c7e31'

/** Replace one character with a different one from the base64url alphabet. */
function flip(s: string, at: number): string {
  const c = s[at]!
  return s.slice(0, at) + (c === 'A' ? 'B' : 'A') + s.slice(at + 1)
}

describe('tracking tokens', () => {
  const payloads: TokenPayload[] = [
    { k: 'o', m: MSG },
    { k: 'c', m: MSG, u: 'https://shop.example.com/cart?utm_source=nudge&x=ü', i: 3 },
    { k: 'u', m: MSG, t: 'marketing', uk: 'user-42' },
    { k: 'v', m: MSG },
  ]

  it.each(payloads)('round-trips a $k token and stays URL-safe', (p) => {
    const token = signToken(key, p)
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/)
    expect(verifyToken(key, token)).toEqual(p)
  })

  it('is compact: an open token for a UUID message id is 82 characters (44 bytes of JSON, a 16-byte MAC)', () => {
    expect(signToken(key, { k: 'o', m: MSG })).toHaveLength(82)
  })

  it('refuses a token with any character of the payload changed', () => {
    const token = signToken(key, payloads[1]!)
    const dot = token.indexOf('.')
    for (let i = 0; i < dot; i++) expect(verifyToken(key, flip(token, i)), `payload char ${i}`).toBeUndefined()
  })

  it('refuses a token with any character of the MAC changed, including the last one whose low bits are padding', () => {
    const token = signToken(key, payloads[0]!)
    for (let i = token.indexOf('.') + 1; i < token.length; i++) expect(verifyToken(key, flip(token, i)), `mac char ${i}`).toBeUndefined()
  })

  it('binds a click token to its URL: a MAC moved to another URL, or an edited URL, fails', () => {
    const a = signToken(key, { k: 'c', m: MSG, u: 'https://shop.example.com/a', i: 0 })
    const b = signToken(key, { k: 'c', m: MSG, u: 'https://evil.example.net/', i: 0 })
    const [payloadA, macA] = a.split('.')
    const [payloadB, macB] = b.split('.')
    expect(verifyToken(key, `${payloadB}.${macA}`)).toBeUndefined()
    expect(verifyToken(key, `${payloadA}.${macB}`)).toBeUndefined()
    const edited = Buffer.from(JSON.stringify(['c', MSG, 0, 'https://evil.example.net/'])).toString('base64url')
    expect(verifyToken(key, `${edited}.${macA}`)).toBeUndefined()
  })

  it('refuses another key, truncation, bad encoding and unknown kinds', () => {
    const token = signToken(key, payloads[2]!)
    expect(verifyToken(randomBytes(32), token)).toBeUndefined()
    expect(verifyToken(key, token.slice(0, -1))).toBeUndefined()
    expect(verifyToken(key, token.slice(0, token.indexOf('.')))).toBeUndefined()
    expect(verifyToken(key, token.slice(1))).toBeUndefined()
    expect(verifyToken(key, `${token}=`)).toBeUndefined()
    expect(verifyToken(key, `${token}.x`)).toBeUndefined()
    expect(verifyToken(key, token.replace('.', '!'))).toBeUndefined()
    expect(verifyToken(key, '')).toBeUndefined()
    expect(verifyToken(key, 'x'.repeat(100_000))).toBeUndefined()
  })

  it('refuses a correctly signed payload of an unknown kind or shape', () => {
    // Signed with the real algorithm by hand, so only the shape check can refuse it.
    const forge = (value: unknown) => {
      const body = Buffer.from(JSON.stringify(value))
      const mac = createHmac('sha256', key).update('nudge-tracking-v1\0').update(body).digest().subarray(0, 16)
      return `${body.toString('base64url')}.${mac.toString('base64url')}`
    }
    expect(verifyToken(key, forge(['o', MSG]))).toEqual({ k: 'o', m: MSG }) // the forge is faithful
    expect(verifyToken(key, forge(['x', MSG]))).toBeUndefined()
    expect(verifyToken(key, forge(['c', MSG, 0, 'javascript:alert(1)']))).toBeUndefined()
    expect(verifyToken(key, forge(['c', MSG, -1, 'https://a.example/']))).toBeUndefined()
    expect(verifyToken(key, forge(['o', MSG, 'extra']))).toBeUndefined()
    expect(verifyToken(key, forge({ k: 'o', m: MSG }))).toBeUndefined()
  })

  it('will not sign a non-web click URL or use a short key', () => {
    expect(() => signToken(key, { k: 'c', m: MSG, u: 'javascript:alert(1)', i: 0 })).toThrow()
    expect(() => signToken(Buffer.alloc(8), { k: 'o', m: MSG })).toThrow(/at least 16 bytes/)
  })
})

describe('link rewriting', () => {
  const base = 'https://t.example.com/'
  const rewrite = (html: string, skip?: (url: string) => boolean) =>
    rewriteLinks(html, { baseUrl: base, sign: (u, i) => signToken(key, { k: 'c', m: MSG, u, i }), ...(skip ? { skip } : {}) })
  const hrefs = (html: string) => [...html.matchAll(/href=(["'])(.*?)\1/gi)].map((m) => m[2]!)
  const urlOf = (trackingHref: string) => {
    const token = decodeEntities(trackingHref).replace('https://t.example.com/t/c/', '')
    const p = verifyToken(key, token)
    return p?.k === 'c' ? p.u : undefined
  }

  it('rewrites awkward markup and each token verifies to the URL the browser would have followed', () => {
    const html = `<html><body>
      <a href="https://shop.example.com/p?id=1&amp;utm_source=nudge">one</a>
      <a class='btn' href='https://shop.example.com/q?a=&#39;x&#39;'>two</a>
      <A HREF="HTTPS://Shop.Example.com/UPPER">three</A>
      <a title="x > y" data-x="1" href=https://shop.example.com/unquoted target="_blank">four</a>
      <a
        href="  https://shop.example.com/spaced?q=a&#x26;b  "
        style="color:red">five</a>
      <abbr href="https://shop.example.com/not-a-link">abbr</abbr>
    </body></html>`
    const out = rewrite(html)
    expect(out.links).toEqual([
      { index: 0, url: 'https://shop.example.com/p?id=1&utm_source=nudge' },
      { index: 1, url: "https://shop.example.com/q?a='x'" },
      { index: 2, url: 'HTTPS://Shop.Example.com/UPPER' },
      { index: 3, url: 'https://shop.example.com/unquoted' },
      { index: 4, url: 'https://shop.example.com/spaced?q=a&b' },
    ])
    const tracked = hrefs(out.html).filter((h) => h.startsWith('https://t.example.com/t/c/'))
    expect(tracked.map(urlOf)).toEqual(out.links.map((l) => l.url))
    // The other attributes and the untouched tag stay byte for byte.
    expect(out.html).toContain(`<a class='btn' href="https://t.example.com/t/c/`)
    expect(out.html).toContain(`" target="_blank">four</a>`)
    expect(out.html).toContain('<a title="x > y" data-x="1" href="https://t.example.com/t/c/')
    expect(out.html).toContain('<abbr href="https://shop.example.com/not-a-link">abbr</abbr>')
  })

  it('escapes the new attribute value', () => {
    const out = rewriteLinks('<a href="https://a.example/">x</a>', { baseUrl: 'https://t.example.com/?a=1&b="2"', sign: () => 'TOKEN' })
    expect(out.html).toBe('<a href="https://t.example.com/?a=1&amp;b=&quot;2&quot;/t/c/TOKEN">x</a>')
  })

  it('leaves mailto:, tel:, anchors, relative URLs, bare hrefs and opted-out links alone', () => {
    const html = [
      '<a href="mailto:help@example.com">mail</a>',
      "<a href='tel:+4755512345'>call</a>",
      '<a href="#top">top</a>',
      '<a href="/relative/path">rel</a>',
      '<a href="//cdn.example.com/x">scheme-relative</a>',
      '<a href="{{ unsubscribe_url }}">placeholder</a>',
      '<a href>empty</a>',
      '<a name="anchor">named</a>',
      '<a data-nudge-notrack href="https://shop.example.com/secret-login">no track</a>',
      '<a href="https://shop.example.com/secret" DATA-NUDGE-NOTRACK="">no track, later and uppercase</a>',
    ].join('\n')
    const out = rewrite(html)
    expect(out.html).toBe(html)
    expect(out.links).toEqual([])
  })

  it('skips URLs the caller says are already tracked, and counts only tracked links', () => {
    const html = '<a href="https://t.example.com/t/u/abc">unsubscribe</a><a href="https://shop.example.com/">shop</a>'
    const out = rewrite(html, (u) => u.startsWith('https://t.example.com/t/u/'))
    expect(out.links).toEqual([{ index: 0, url: 'https://shop.example.com/' }])
    expect(out.html.startsWith('<a href="https://t.example.com/t/u/abc">unsubscribe</a><a href="https://t.example.com/t/c/')).toBe(true)
  })

  it('gives the same URL twice two indexes (which link was clicked matters)', () => {
    const out = rewrite('<a href="https://a.example/">logo</a><a href="https://a.example/">button</a>')
    expect(out.links).toEqual([
      { index: 0, url: 'https://a.example/' },
      { index: 1, url: 'https://a.example/' },
    ])
    const [first, second] = hrefs(out.html)
    expect(first).not.toBe(second)
  })

  it('builds the open pixel and puts it before the last </body>, or at the end', () => {
    const img = openPixel('https://t.example.com/', 'TOK.EN')
    expect(img).toBe(
      '<img src="https://t.example.com/t/o/TOK.EN" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />',
    )
    expect(insertBeforeBodyEnd('<html><body>hi</BODY ></html>', '[P]')).toBe('<html><body>hi[P]</BODY ></html>')
    expect(insertBeforeBodyEnd('<p>a</body><p>b</body>', '[P]')).toBe('<p>a</body><p>b[P]</body>')
    expect(insertBeforeBodyEnd('<p>fragment</p>', '[P]')).toBe('<p>fragment</p>[P]')
  })
})

describe('machine opens and clicks', () => {
  const sentAt = Date.parse('2024-05-01T10:00:00Z')
  const later = sentAt + 3_600_000
  const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148'
  const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
  const outlook = 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)'

  it.each([
    ['Apple MPP by IP', { userAgent: iphone, ip: '17.58.101.4', at: later, sentAt }, { machine: true, reason: 'apple_mpp' }],
    [
      'Apple MPP by IPv4-mapped IP',
      { userAgent: iphone, ip: '::ffff:17.1.2.3', at: later, sentAt },
      { machine: true, reason: 'apple_mpp' },
    ],
    ['Apple MPP by bare agent', { userAgent: 'Mozilla/5.0', ip: '104.28.1.1', at: later, sentAt }, { machine: true, reason: 'apple_mpp' }],
    [
      'prefetch right after the send',
      { userAgent: iphone, ip: '203.0.113.9', at: sentAt + 1_500, sentAt },
      { machine: true, reason: 'prefetch' },
    ],
    [
      'clock skew counts as immediate',
      { userAgent: iphone, ip: '203.0.113.9', at: sentAt - 500, sentAt },
      { machine: true, reason: 'prefetch' },
    ],
    [
      'a scanner fetching the pixel',
      { userAgent: 'Barracuda Sentinel (EE)', ip: '203.0.113.9', at: later, sentAt },
      { machine: true, reason: 'scanner_agent' },
    ],
    [
      'Gmail image proxy is a person',
      {
        userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
        ip: '66.249.84.1',
        at: later,
        sentAt,
      },
      { machine: false, reason: 'proxy' },
    ],
    ['a phone 2.5 s after the send', { userAgent: iphone, ip: '203.0.113.9', at: sentAt + 2_500, sentAt }, { machine: false }],
    ['Outlook desktop loading images is a person', { userAgent: outlook, ip: '203.0.113.9', at: later, sentAt }, { machine: false }],
    ['18.x is not Apple', { userAgent: iphone, ip: '18.0.0.1', at: later, sentAt }, { machine: false }],
    ['no send time: no timing rule', { userAgent: iphone, ip: '203.0.113.9', at: later }, { machine: false }],
  ])('open: %s', (_name, input, expected) => {
    expect(classifyOpen(input)).toEqual(expected)
  })

  it.each([
    ['HEAD request', { userAgent: chrome, method: 'HEAD', at: later, sentAt }, { machine: true, reason: 'head_request' }],
    ['no agent at all', { userAgent: '', method: 'GET', at: later, sentAt }, { machine: true, reason: 'no_agent' }],
    ['Mimecast', { userAgent: 'Mimecast-URL-Protect/1.0', method: 'GET', at: later, sentAt }, { machine: true, reason: 'scanner_agent' }],
    ['Proofpoint', { userAgent: 'Proofpoint URL Defense', method: 'GET', at: later, sentAt }, { machine: true, reason: 'scanner_agent' }],
    [
      'BingPreview (Safe Links)',
      { userAgent: 'Mozilla/5.0 (Windows NT 10.0) BingPreview/1.0b', method: 'GET', at: later, sentAt },
      { machine: true, reason: 'scanner_agent' },
    ],
    [
      'Office link check',
      { userAgent: 'Microsoft Office Existence Discovery', method: 'GET', at: later, sentAt },
      { machine: true, reason: 'scanner_agent' },
    ],
    [
      'python-requests',
      { userAgent: 'python-requests/2.31.0', method: 'GET', at: later, sentAt },
      { machine: true, reason: 'scanner_agent' },
    ],
    ['curl', { userAgent: 'curl/8.4.0', method: 'GET', at: later, sentAt }, { machine: true, reason: 'scanner_agent' }],
    [
      'headless Chrome',
      { userAgent: chrome.replace('Chrome/', 'HeadlessChrome/'), method: 'GET', at: later, sentAt },
      { machine: true, reason: 'scanner_agent' },
    ],
    ['TrendMicro', { userAgent: 'Trend Micro InterScan', method: 'GET', at: later, sentAt }, { machine: true, reason: 'scanner_agent' }],
    [
      'burst of links',
      { userAgent: chrome, method: 'GET', at: later, sentAt, linksClickedWithinSecond: 3 },
      { machine: true, reason: 'burst' },
    ],
    ['too fast after the send', { userAgent: chrome, method: 'GET', at: sentAt + 9_000, sentAt }, { machine: true, reason: 'too_fast' }],
    [
      'a person, two links within a second is still a person',
      { userAgent: chrome, method: 'get', at: later, sentAt, linksClickedWithinSecond: 2 },
      { machine: false },
    ],
    ['a person 11 s after the send', { userAgent: iphone, method: 'GET', at: sentAt + 11_000, sentAt }, { machine: false }],
  ])('click: %s', (_name, input, expected) => {
    expect(classifyClick(input)).toEqual(expected)
  })

  it('takes its thresholds from the options', () => {
    expect(DEFAULT_DETECTION).toEqual({ prefetchMs: 2_000, clickTooFastMs: 10_000, burstLinks: 3, burstWindowMs: 1_000 })
    const open = { userAgent: 'Mozilla/5.0 (Linux)', at: sentAt + 4_000, sentAt }
    expect(classifyOpen(open)).toEqual({ machine: false })
    expect(classifyOpen(open, { prefetchMs: 5_000 })).toEqual({ machine: true, reason: 'prefetch' })
    const click = { userAgent: 'Mozilla/5.0 (Linux)', method: 'GET', at: sentAt + 20_000, sentAt, linksClickedWithinSecond: 2 }
    expect(classifyClick(click)).toEqual({ machine: false })
    expect(classifyClick(click, { clickTooFastMs: 30_000 })).toEqual({ machine: true, reason: 'too_fast' })
    expect(classifyClick(click, { burstLinks: 2 })).toEqual({ machine: true, reason: 'burst' })
  })

  it('recognises Apple addresses only in 17.0.0.0/8', () => {
    expect(['17.0.0.0', '17.255.255.255', '::FFFF:17.9.9.9'].map(isAppleIp)).toEqual([true, true, true])
    expect(['170.1.1.1', '1.17.0.0', '17.256.0.1', '2620:149::1', undefined].map(isAppleIp)).toEqual([false, false, false, false, false])
  })
})

describe('unsubscribe (RFC 2369 / RFC 8058)', () => {
  it('builds both headers, https first', () => {
    expect(unsubscribeHeaders({ httpsUrl: 'https://t.example.com/t/u/TOK.EN', mailto: 'unsubscribe+TOK.EN@example.com' })).toEqual({
      'List-Unsubscribe': '<https://t.example.com/t/u/TOK.EN>, <mailto:unsubscribe+TOK.EN@example.com>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    })
    expect(
      unsubscribeHeaders({ httpsUrl: 'https://t.example.com/t/u/X', mailto: 'mailto:u@example.com?subject=unsubscribe' })[
        'List-Unsubscribe'
      ],
    ).toBe('<https://t.example.com/t/u/X>, <mailto:u@example.com?subject=unsubscribe>')
    expect(unsubscribeHeaders({ httpsUrl: 'https://t.example.com/t/u/X' })['List-Unsubscribe']).toBe('<https://t.example.com/t/u/X>')
  })

  it('refuses a non-https URL and anything that would break the header', () => {
    expect(() => unsubscribeHeaders({ httpsUrl: 'http://t.example.com/t/u/X' })).toThrow(/https/)
    expect(() => unsubscribeHeaders({ httpsUrl: 'not a url' })).toThrow(/https/)
    expect(() => unsubscribeHeaders({ httpsUrl: 'https://t.example.com/X', mailto: 'a@b.com>, <https://evil.example' })).toThrow(
      /List-Unsubscribe/,
    )
    expect(() => unsubscribeHeaders({ httpsUrl: 'https://t.example.com/X', mailto: 'a@b.com\r\nBcc: x@y.z' })).toThrow(/List-Unsubscribe/)
  })

  it('recognises the one-click POST body, urlencoded or multipart', () => {
    expect(isOneClickBody('application/x-www-form-urlencoded', 'List-Unsubscribe=One-Click')).toBe(true)
    expect(isOneClickBody('Application/X-WWW-Form-Urlencoded; charset=UTF-8', Buffer.from('foo=1&List-Unsubscribe=One-Click'))).toBe(true)
    const multipart = ['--XyZ', 'Content-Disposition: form-data; name="List-Unsubscribe"', '', 'One-Click', '--XyZ--', ''].join('\r\n')
    expect(isOneClickBody('multipart/form-data; boundary=XyZ', multipart)).toBe(true)
    expect(isOneClickBody('multipart/form-data; boundary="XyZ"', multipart)).toBe(true)

    expect(isOneClickBody('application/x-www-form-urlencoded', 'List-Unsubscribe=Two-Click')).toBe(false)
    expect(isOneClickBody('application/x-www-form-urlencoded', 'action=save&topic=marketing')).toBe(false)
    expect(isOneClickBody('application/json', '{"List-Unsubscribe":"One-Click"}')).toBe(false)
    expect(isOneClickBody(undefined, 'List-Unsubscribe=One-Click')).toBe(false)
    expect(isOneClickBody('multipart/form-data', multipart)).toBe(false) // no boundary
    expect(isOneClickBody('multipart/form-data; boundary=XyZ', multipart.replace('name="List-Unsubscribe"', 'name="Other"'))).toBe(false)
  })

  it('renders an escaped, self-contained preferences page whose form the parser reads back', () => {
    const page = preferencesPage({
      topics: [
        { topic: 'marketing', label: 'News & <offers>', subscribed: true },
        { topic: 'product"x', label: 'Product updates', subscribed: false },
      ],
      actionUrl: 'https://t.example.com/t/u/A.B?x=1&y=2',
      email: 'a***@example.com',
      done: true,
    })
    expect(page).toContain('<form method="post" action="https://t.example.com/t/u/A.B?x=1&amp;y=2">')
    expect(page).toContain('<input type="checkbox" name="topic" value="marketing" checked> News &amp; &lt;offers&gt;</label>')
    expect(page).toContain('<input type="checkbox" name="topic" value="product&quot;x"> Product updates</label>')
    expect(page).toContain('For a***@example.com')
    expect(page).toContain('Your preferences have been saved.')
    expect(page).toContain('value="unsubscribe_all"')
    expect(page).toContain('Unsubscribe from all')
    expect(page).not.toMatch(/<script|<link|src=|url\(/i)
    expect(preferencesPage({ topics: [{ topic: 'marketing', label: 'M', subscribed: false }], actionUrl: '/x', done: true })).toContain(
      'You are unsubscribed from all emails.',
    )
    expect(preferencesPage({ topics: [], actionUrl: '/x' })).not.toContain('role="status"')

    expect(parsePreferencesForm('topic=marketing&topic=news&action=save')).toEqual({ action: 'save', topics: ['marketing', 'news'] })
    expect(parsePreferencesForm(Buffer.from('topic=marketing&action=unsubscribe_all'))).toEqual({
      action: 'unsubscribe_all',
      topics: ['marketing'],
    })
    expect(parsePreferencesForm('')).toEqual({ action: 'save', topics: [] })
  })
})

describe('bounce and complaint webhooks', () => {
  const receivedAt = Date.parse('2024-05-01T12:00:00Z')
  const fail = (provider: 'nudge' | 'ses' | 'sendgrid', body: unknown): WebhookPayloadError => {
    try {
      normalizeWebhook(provider, body, receivedAt)
    } catch (err) {
      expect(err).toBeInstanceOf(WebhookPayloadError)
      expect(err).toBeInstanceOf(ValidationError)
      expect((err as WebhookPayloadError).status).toBe(400)
      expect((err as WebhookPayloadError).code).toBe('invalid_request')
      return err as WebhookPayloadError
    }
    throw new Error('expected the payload to be refused')
  }
  const paths = (e: WebhookPayloadError) => e.issues.map((i) => i.path)

  describe('Nudge format', () => {
    it('normalizes every kind', () => {
      const body = {
        events: [
          {
            type: 'bounce',
            bounceType: 'hard',
            email: 'gone@example.com',
            messageId: MSG,
            timestamp: '2024-05-01T10:00:05Z',
            reason: '550 5.1.1 no such user',
          },
          { type: 'bounce', messageId: MSG },
          { type: 'complaint', email: 'angry@example.com' },
          { type: 'delivered', email: 'ok@example.com', timestamp: '2024-05-01T10:00:01.250+02:00' },
        ],
      }
      expect(normalizeWebhook('nudge', body, receivedAt).events).toEqual([
        {
          kind: 'bounce',
          bounceType: 'hard',
          email: 'gone@example.com',
          messageId: MSG,
          at: Date.parse('2024-05-01T10:00:05Z'),
          reason: '550 5.1.1 no such user',
          provider: 'nudge',
        },
        { kind: 'bounce', bounceType: 'soft', messageId: MSG, at: receivedAt, provider: 'nudge' },
        { kind: 'complaint', email: 'angry@example.com', at: receivedAt, provider: 'nudge' },
        { kind: 'delivered', email: 'ok@example.com', at: Date.parse('2024-05-01T08:00:01.250Z'), provider: 'nudge' },
      ])
    })

    it('names the field of every invalid event', () => {
      const e = fail('nudge', {
        events: [
          { type: 'bounce', email: 'a@example.com' },
          { type: 'bounce' },
          { type: 'opened', email: 'a@example.com' },
          { type: 'delivered', email: 'a@example.com', timestamp: 'yesterday' },
          { type: 'bounce', bounceType: 'permanent', email: 'not-an-address' },
        ],
      })
      expect(e.issues).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ path: 'events[1].email', rule: 'required', message: 'email or messageId is required' }),
          expect.objectContaining({ path: 'events[2].type', rule: 'one_of' }),
          expect.objectContaining({ path: 'events[3].timestamp', rule: 'iso8601' }),
          expect.objectContaining({ path: 'events[4].bounceType', rule: 'one_of' }),
          expect.objectContaining({ path: 'events[4].email', rule: 'format' }),
        ]),
      )
      expect(paths(e)).not.toContain('events[0].email')
      expect(e.message).toContain('events[1].email email or messageId is required')
      expect(paths(fail('nudge', { events: [] }))).toEqual(['events'])
      expect(fail('nudge', {}).issues).toEqual([expect.objectContaining({ path: 'events', rule: 'required' })])
      expect(paths(fail('nudge', null))).toEqual(['(body)'])
    })
  })

  describe('Amazon SES through SNS', () => {
    // Shapes from the SES developer guide ("Amazon SNS notification contents") and the SNS
    // HTTP(S) endpoint documentation.
    const mail = {
      timestamp: '2024-05-01T10:00:00.000Z',
      source: 'Shop <news@shop.example.com>',
      sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/shop.example.com',
      sourceIp: '203.0.113.7',
      sendingAccountId: '123456789012',
      messageId: '0102018f33a1b2c3-d4e5f6a7-89ab-4cde-f012-3456789abcde-000000',
      destination: ['gone@example.com', 'also-gone@example.com'],
      headersTruncated: false,
      headers: [
        { name: 'From', value: 'Shop <news@shop.example.com>' },
        { name: 'To', value: 'gone@example.com' },
        { name: 'Message-ID', value: `<${MSG}@shop.example.com>` },
        { name: 'Subject', value: 'Your cart' },
      ],
      commonHeaders: {
        from: ['Shop <news@shop.example.com>'],
        to: ['gone@example.com'],
        messageId: `<${MSG}@shop.example.com>`,
        subject: 'Your cart',
      },
    }
    const bounce = {
      notificationType: 'Bounce',
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [
          { emailAddress: 'gone@example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
          { emailAddress: 'also-gone@example.com', action: 'failed', status: '5.1.1' },
        ],
        timestamp: '2024-05-01T10:00:02.500Z',
        feedbackId: '0102018f33a1b2c3-aaaa-bbbb-cccc-dddddddddddd-000000',
        remoteMtaIp: '198.51.100.25',
        reportingMTA: 'dsn; a1-2.smtp-out.eu-west-1.amazonses.com',
      },
      mail,
    }
    const complaint = {
      notificationType: 'Complaint',
      complaint: {
        userAgent: 'ExampleCorp Feedback Loop (V0.01)',
        complainedRecipients: [{ emailAddress: 'angry@example.com' }],
        complaintFeedbackType: 'abuse',
        arrivalDate: '2024-05-01T11:59:00.000Z',
        timestamp: '2024-05-01T11:59:30.000Z',
        feedbackId: '0102018f33a1b2c3-eeee-ffff-0000-111111111111-000000',
      },
      mail: { ...mail, headers: undefined, headersTruncated: undefined },
    }
    const delivery = {
      notificationType: 'Delivery',
      mail: { ...mail, headers: [...mail.headers, { name: 'X-Nudge-Message-Id', value: 'from-the-header' }] },
      delivery: {
        timestamp: '2024-05-01T10:00:01.000Z',
        processingTimeMillis: 546,
        recipients: ['ok@example.com'],
        smtpResponse: '250 ok:  Message 64111812 accepted',
        reportingMTA: 'a8-70.smtp-out.amazonses.com',
        remoteMtaIp: '127.0.2.0',
      },
    }
    const sns = (message: unknown) => ({
      Type: 'Notification',
      MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:ses-notifications',
      Message: JSON.stringify(message),
      Timestamp: '2024-05-01T10:00:03.000Z',
      SignatureVersion: '1',
      Signature: 'EXAMPLEpH+..',
      SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
      UnsubscribeURL:
        'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ses-notifications:c9135db0',
    })
    const providerMessageId = mail.messageId

    it('normalizes a permanent bounce, one event per recipient, our id from the Message-ID header', () => {
      const at = Date.parse('2024-05-01T10:00:02.500Z')
      expect(normalizeWebhook('ses', sns(bounce), receivedAt)).toEqual({
        events: [
          {
            kind: 'bounce',
            bounceType: 'hard',
            email: 'gone@example.com',
            messageId: MSG,
            providerMessageId,
            at,
            reason: 'smtp; 550 5.1.1 user unknown',
            provider: 'ses',
          },
          {
            kind: 'bounce',
            bounceType: 'hard',
            email: 'also-gone@example.com',
            messageId: MSG,
            providerMessageId,
            at,
            reason: 'Permanent/General',
            provider: 'ses',
          },
        ],
      })
    })

    it('treats Transient and Undetermined bounces as soft', () => {
      for (const bounceType of ['Transient', 'Undetermined']) {
        const [event] = normalizeWebhook('ses', sns({ ...bounce, bounce: { ...bounce.bounce, bounceType } }), receivedAt).events
        expect(event?.bounceType).toBe('soft')
      }
    })

    it('normalizes a complaint (common headers only) and a delivery (X-Nudge-Message-Id wins), also un-wrapped', () => {
      expect(normalizeWebhook('ses', sns(complaint), receivedAt).events).toEqual([
        {
          kind: 'complaint',
          email: 'angry@example.com',
          messageId: MSG,
          providerMessageId,
          at: Date.parse('2024-05-01T11:59:30.000Z'),
          reason: 'abuse',
          provider: 'ses',
        },
      ])
      expect(normalizeWebhook('ses', delivery, receivedAt).events).toEqual([
        {
          kind: 'delivered',
          email: 'ok@example.com',
          messageId: 'from-the-header',
          providerMessageId,
          at: Date.parse('2024-05-01T10:00:01.000Z'),
          reason: '250 ok:  Message 64111812 accepted',
          provider: 'ses',
        },
      ])
      // The configuration-set event form names the type `eventType`.
      const { notificationType: _, ...asEvent } = bounce
      expect(normalizeWebhook('ses', { eventType: 'Bounce', ...asEvent }, receivedAt).events).toHaveLength(2)
    })

    it('answers a subscription confirmation with a marker, and ignores notification types it has no use for', () => {
      const confirm = {
        Type: 'SubscriptionConfirmation',
        MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
        Token:
          '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
        TopicArn: 'arn:aws:sns:eu-west-1:123456789012:ses-notifications',
        Message: 'You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:ses-notifications.',
        SubscribeURL:
          'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:ses-notifications&Token=2336412f37',
        Timestamp: '2024-05-01T09:00:00.000Z',
        SignatureVersion: '1',
        Signature: 'EXAMPLE',
        SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem',
      }
      expect(normalizeWebhook('ses', confirm, receivedAt)).toEqual({
        events: [],
        subscriptionConfirmation: { subscribeUrl: confirm.SubscribeURL, topicArn: confirm.TopicArn, token: confirm.Token },
      })
      // A SubscribeURL anywhere else would make the route fetch an attacker's URL.
      expect(paths(fail('ses', { ...confirm, SubscribeURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/' }))).toEqual([
        'SubscribeURL',
      ])
      expect(paths(fail('ses', { ...confirm, SubscribeURL: 'http://169.254.169.254/latest/meta-data' }))).toEqual(['SubscribeURL'])
      const succeeded = {
        notificationType: 'AmazonSnsSubscriptionSucceeded',
        message: 'You have successfully subscribed your Amazon SNS topic.',
      }
      expect(normalizeWebhook('ses', sns(succeeded), receivedAt)).toEqual({ events: [] })
      expect(normalizeWebhook('ses', { Type: 'UnsubscribeConfirmation', Token: 'x' }, receivedAt)).toEqual({ events: [] })
    })

    it('names the field, inside the SNS Message too', () => {
      const badType = fail('ses', sns({ ...bounce, bounce: { ...bounce.bounce, bounceType: 'Hard' } }))
      expect(badType.issues).toEqual([expect.objectContaining({ path: 'Message.bounce.bounceType', rule: 'one_of' })])
      expect(paths(fail('ses', sns({ notificationType: 'Complaint', mail })))).toEqual(['Message.complaint'])
      expect(paths(fail('ses', sns({ ...delivery, mail: { ...mail, messageId: undefined } })))).toEqual(['Message.mail.messageId'])
      expect(paths(fail('ses', { ...sns(bounce), Message: '{not json' }))).toEqual(['Message'])
      expect(paths(fail('ses', { ...bounce, notificationType: undefined }))).toEqual(['notificationType'])
      expect(paths(fail('ses', { ...bounce, bounce: { ...bounce.bounce, bouncedRecipients: [{ status: '5.1.1' }] } }))).toEqual([
        'bounce.bouncedRecipients[0].emailAddress',
      ])
      expect(paths(fail('ses', { Type: 'Mystery' }))).toEqual(['Type'])
    })
  })

  describe('SendGrid Event Webhook', () => {
    // Shapes from SendGrid's "Event Webhook reference" samples.
    const common = (event: string, extra: Record<string, unknown>) => ({
      email: 'example@test.com',
      timestamp: 1714557600,
      'smtp-id': `<${MSG}@shop.example.com>`,
      event,
      category: ['cart'],
      sg_event_id: `sg-${event}`,
      sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
      ...extra,
    })
    const batch = [
      common('processed', {}),
      common('delivered', { response: '250 OK', ip: '168.1.1.1', tls: 1, cert_err: 0 }),
      common('bounce', {
        reason: '550 5.1.1 The email account that you tried to reach does not exist.',
        status: '5.1.1',
        type: 'bounce',
        bounce_classification: 'Invalid Address',
      }),
      common('bounce', {
        reason: '550 5.7.1 blocked by reputation',
        status: '5.7.1',
        type: 'blocked',
        bounce_classification: 'Reputation',
      }),
      common('blocked', { reason: '554 rejected' }),
      common('dropped', { reason: 'Bounced Address', status: '5.0.0' }),
      common('dropped', { reason: 'Unsubscribed Address', status: '5.0.0' }),
      common('spamreport', {}),
      common('open', { useragent: 'Mozilla/5.0', ip: '255.255.255.255' }),
      common('deferred', { response: '400 try again later', attempt: '5' }),
    ]
    const base = {
      email: 'example@test.com',
      messageId: MSG,
      providerMessageId: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
      at: 1714557600_000,
      provider: 'sendgrid',
    }

    it('normalizes a mixed batch, ignoring the events that are not deliverability', () => {
      expect(normalizeWebhook('sendgrid', batch, receivedAt).events).toEqual([
        { kind: 'delivered', ...base, reason: '250 OK' },
        { kind: 'bounce', bounceType: 'hard', ...base, reason: '550 5.1.1 The email account that you tried to reach does not exist.' },
        { kind: 'bounce', bounceType: 'soft', ...base, reason: '550 5.7.1 blocked by reputation' },
        { kind: 'bounce', bounceType: 'soft', ...base, reason: '554 rejected' },
        { kind: 'bounce', bounceType: 'hard', ...base, reason: 'dropped: Bounced Address' },
        { kind: 'bounce', bounceType: 'soft', ...base, reason: 'dropped: Unsubscribed Address' },
        { kind: 'complaint', ...base },
      ])
    })

    it('names the field of an invalid event', () => {
      const e = fail('sendgrid', [
        common('bounce', {}),
        { ...common('bounce', {}), timestamp: '1714557600' },
        { event: 'delivered', timestamp: 1 },
      ])
      expect(paths(e)).toEqual(['[1].timestamp', '[2].email'])
      expect(e.issues[1]).toMatchObject({ rule: 'required' })
      expect(paths(fail('sendgrid', { event: 'bounce' }))).toEqual(['(body)'])
    })
  })

  it('reads our id out of a Message-ID header', () => {
    expect(messageIdFromHeader(`<${MSG}@shop.example.com>`)).toBe(MSG)
    expect(messageIdFromHeader(' <a@b@c> ')).toBe('a@b')
    expect(messageIdFromHeader('plain-id')).toBe('plain-id')
    expect(messageIdFromHeader('<>')).toBeUndefined()
  })
})

import { brotliCompressSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signToken } from '../../content/tracking/tokens.js'
import { ADMIN_KEY, WRITE_KEY, basic, post, readResponse, uid, useTestNudge } from '../helpers/harness.js'
import { type FakeSns, startFakeSns } from '../helpers/signedWebhooks.js'
import { countRows } from '../helpers/store.js'

/** `{"a":{"a":…}}` n levels deep, as text (JSON.stringify itself would overflow). */
function deepObject(n: number, leaf = '1'): string {
  return '{"a":'.repeat(n) + leaf + '}'.repeat(n)
}
function deepArray(n: number): string {
  return '['.repeat(n) + ']'.repeat(n)
}

async function send(url: string, body: string | Uint8Array, headers: Record<string, string>, method = 'POST') {
  return readResponse(await fetch(url, { method, headers, body }))
}
const WEBHOOK_KEY = 'whk_body_layer_0123456789'
const adminHeaders = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }

describe('one body layer: every route refuses bad bodies with a 4xx naming the problem', () => {
  let sns: FakeSns
  beforeAll(async () => {
    sns = await startFakeSns('eu-west-1')
  })
  afterAll(() => sns.close())
  const fx = useTestNudge({ env: { WEBHOOK_KEY }, webhookHttpGet: (url) => sns.httpGet(url) })

  it('JSON nested 5,000 deep in /v1 properties, traits, context and batch → 400 max_depth naming the path', async () => {
    const deep = deepArray(5000)
    const cases: [string, string, string][] = [
      ['/v1/track', `{"userId":"u","event":"E","properties":{"x":${deep}}}`, 'properties.x'],
      ['/v1/identify', `{"userId":"u","traits":{"t":${deep}}}`, 'traits.t'],
      ['/v1/page', `{"userId":"u","context":${deepObject(5000)}}`, 'context'],
      ['/v1/batch', `{"batch":[{"type":"track","userId":"u","event":"E","properties":{"p":${deep}}}]}`, 'batch[0].properties.p'],
    ]
    for (const [path, body, prefix] of cases) {
      const res = await post(`${fx.nudge.url}${path}`, body)
      expect(res.status, path).toBe(400)
      const issue = res.json.error.issues[0]
      expect(issue.rule).toBe('max_depth')
      expect(issue.path.startsWith(prefix), `${path}: ${issue.path}`).toBe(true)
    }
  })

  it('deep JSON in experiment payloads, flag defaults, catalog attributes, segment rules → 400 max_depth', async () => {
    const deep = deepObject(5000)
    const cases: [string, string, string][] = [
      [
        '/api/experiments',
        `{"key":"x","variants":[{"key":"a","weight":0.5,"payload":${deep}},{"key":"b","weight":0.5}]}`,
        'variants[0].payload',
      ],
      ['/api/flags', `{"key":"f","defaultValue":${deep}}`, 'defaultValue'],
      ['/api/catalog/products', `{"products":[{"id":"p","attributes":${deep}}]}`, 'products[0].attributes'],
      ['/api/segments/validate', `{"rule":${deep}}`, 'rule'],
    ]
    for (const [path, body, prefix] of cases) {
      const res = await send(`${fx.nudge.url}${path}`, body, adminHeaders)
      expect(res.status, path).toBe(400)
      expect(res.json.error.issues[0].rule).toBe('max_depth')
      expect(res.json.error.issues[0].path.startsWith(prefix), res.json.error.issues[0].path).toBe(true)
    }
    // Within the limit is fine (the layer does not refuse ordinary nesting).
    const ok = await post(`${fx.nudge.url}/v1/track`, `{"userId":"u","event":"E","properties":${deepObject(40)}}`)
    expect(ok.status).toBe(200)
  })

  it('a lone surrogate in an id, a trait key or a value → 400 naming the field (rule unicode), never a 503 retried forever', async () => {
    const cases: [string, string, string][] = [
      ['/v1/track', '{"userId":"u\\ud800","event":"E"}', 'userId'],
      ['/v1/identify', '{"userId":"u","traits":{"k\\udc00":1}}', 'traits.k\\udc00'],
      ['/v1/track', '{"userId":"u","event":"E","properties":{"list":["ok","\\ud83d"]}}', 'properties.list[1]'],
      ['/v1/batch', '{"batch":[{"type":"track","userId":"u","event":"E","messageId":"\\ud800"}]}', 'batch[0].messageId'],
    ]
    for (const [path, body, field] of cases) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await post(`${fx.nudge.url}${path}`, body)
        expect(res.status, `${path} ${body}`).toBe(400)
        expect(res.headers.get('retry-after')).toBeNull()
        expect(res.json.error.issues).toContainEqual(expect.objectContaining({ path: field, rule: 'unicode' }))
      }
    }
    // A well-formed pair (an emoji) is fine, and is stored.
    const messageId = uid('m')
    expect(
      (await post(`${fx.nudge.url}/v1/track`, `{"userId":"u","event":"E","messageId":"${messageId}","properties":{"e":"\\ud83d\\ude00"}}`))
        .status,
    ).toBe(200)
    expect(await countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id: messageId })).toBe(1)
    // The pixel's base64 `data=` is JSON by another road: same check.
    const data = Buffer.from(`{"writeKey":"${WRITE_KEY}","userId":"u\\ud800","event":"E"}`).toString('base64')
    const pixel = await fetch(`${fx.nudge.url}/v1/pixel/track?data=${encodeURIComponent(data)}`)
    expect(pixel.status).toBe(400)
    expect(((await pixel.json()) as any).error.issues[0]).toMatchObject({ path: 'data.userId', rule: 'unicode' })
  })

  it('charset other than utf-8 → 415 naming it (latin1, unknown, utf-16); utf-8 and us-ascii are accepted', async () => {
    for (const charset of ['latin1', 'iso-8859-1', 'klingon', 'utf-16']) {
      for (const path of ['/v1/track', '/api/segments/validate']) {
        const res = await send(`${fx.nudge.url}${path}`, '{"userId":"u","event":"E"}', {
          ...adminHeaders,
          authorization: path.startsWith('/api') ? adminHeaders.authorization : basic(WRITE_KEY),
          'content-type': `application/json; charset=${charset}`,
        })
        expect(res.status, `${path} ${charset}`).toBe(415)
        expect(res.json.error.code).toBe('unsupported_charset')
        expect(res.json.error.message).toContain(charset)
      }
    }
    for (const charset of ['UTF-8', 'utf8', '"utf-8"', 'us-ascii'])
      expect(
        (await post(`${fx.nudge.url}/v1/track`, '{"userId":"u","event":"E"}', { 'content-type': `application/json; charset=${charset}` }))
          .status,
      ).toBe(200)
  })

  it('invalid UTF-8 bytes → 400 utf8; a malformed content-type is no 5xx', async () => {
    const bytes = Buffer.concat([Buffer.from('{"userId":"u'), Buffer.from([0xff, 0xfe]), Buffer.from('","event":"E"}')])
    const res = await post(`${fx.nudge.url}/v1/track`, bytes)
    expect(res.status).toBe(400)
    expect(res.json.error.issues[0]).toMatchObject({ path: '(body)', rule: 'utf8' })
    for (const ct of ['application/json; charset', ';;;', 'application/json; charset="', 'text/plain; boundary=x; charset=utf-8'])
      expect((await post(`${fx.nudge.url}/v1/track`, '{"userId":"u","event":"E"}', { 'content-type': ct })).status).toBeLessThan(500)
  })

  it('a corrupt gzip, deflate or brotli body → 400 naming the encoding; a valid brotli body is accepted', async () => {
    const good = gzipSync(Buffer.from('{"userId":"u","event":"E"}'))
    const corrupt = Buffer.concat([good.subarray(0, 12), Buffer.from('garbage garbage garbage')])
    for (const [encoding, body] of [
      ['gzip', corrupt],
      ['deflate', Buffer.from('not deflate at all')],
      ['br', Buffer.from('not brotli at all, really')],
    ] as const) {
      for (const path of ['/v1/track', '/api/segments/validate', '/webhooks/email/nudge']) {
        const headers = {
          ...adminHeaders,
          ...(path.startsWith('/v1') ? { authorization: basic(WRITE_KEY) } : {}),
          'x-nudge-webhook-key': WEBHOOK_KEY,
          'content-encoding': encoding,
        }
        const res = await send(`${fx.nudge.url}${path}`, body, headers)
        expect(res.status, `${path} ${encoding}`).toBe(400)
        expect(res.json.error.issues[0]).toMatchObject({ path: '(body)', rule: 'content_encoding' })
        expect(res.json.error.message).toContain(encoding)
      }
    }
    const br = brotliCompressSync(Buffer.from('{"userId":"u","event":"Brotli"}'))
    expect((await post(`${fx.nudge.url}/v1/track`, br, { 'content-encoding': 'br' })).status).toBe(200)
    const unknown = await post(`${fx.nudge.url}/v1/track`, '{}', { 'content-encoding': 'zstd' })
    expect(unknown.status).toBe(415)
    expect(unknown.json.error.message).toContain('zstd')
  })

  it('10 MB to the webhook and to POST /u/:token → 413, not 500 (and a gzip bomb under the wire limit too)', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 'a')
    const hook = await send(`${fx.nudge.url}/webhooks/email/nudge`, big, {
      'content-type': 'application/json',
      'x-nudge-webhook-key': WEBHOOK_KEY,
    })
    expect(hook.status).toBe(413)
    expect(hook.json.error.issues[0]).toMatchObject({ path: '(body)', rule: 'max_bytes' })
    const token = signToken(fx.nudge.journeys.tracking.key, { k: 'u', m: 'm1', t: 'marketing', uk: 'uk1' })
    const unsub = await send(`${fx.nudge.url}/u/${token}`, big, { 'content-type': 'application/x-www-form-urlencoded' })
    expect(unsub.status).toBe(413)
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, ' '))
    const res = await post(`${fx.nudge.url}/v1/track`, bomb, { 'content-encoding': 'gzip' })
    expect(res.status).toBe(413)
    // The one-click body still works through the same layer.
    const ok = await send(`${fx.nudge.url}/u/${token}`, 'List-Unsubscribe=One-Click', {
      'content-type': 'application/x-www-form-urlencoded',
    })
    expect(ok.status).toBe(200)
  })

  it('deep JSON or a lone surrogate inside an SNS message (JSON in JSON) → 400', async () => {
    // Signed as SNS signs (the inner Message is read only after the signature holds).
    const cases: [string, object][] = [
      [`{"notificationType":"Bounce","x":${deepArray(5000)}}`, { path: 'Message.x' + '[0]'.repeat(63), rule: 'max_depth' }],
      ['{"notificationType":"Bounce","mail":{"messageId":"\\ud800"}}', { path: 'Message.mail.messageId', rule: 'unicode' }],
    ]
    for (const [message, issue] of cases) {
      const res = await send(
        `${fx.nudge.url}/webhooks/email/ses`,
        JSON.stringify(sns.message({ Type: 'Notification', Message: message })),
        { 'content-type': 'text/plain', 'x-nudge-webhook-key': WEBHOOK_KEY },
      )
      expect(res.status, message.slice(0, 40)).toBe(400)
      expect(res.json.error.issues[0]).toMatchObject(issue)
    }
  })

  it('a path parameter that is not valid percent-encoding → 400, not 500', async () => {
    for (const path of ['/api/users/%E0%A4%A', '/t/c/%ff', '/api/segments/%', '/u/%c0'])
      expect((await fetch(`${fx.nudge.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status, path).toBe(400)
  })

  it('query parameters go through the route schema: a non-date, an out-of-range date or a repeated parameter → 400 naming it', async () => {
    const cases: [string, string][] = [
      ['/api/messages?before=not-a-date', 'before'],
      // Date.parse rolls a day that does not exist over to the next month; the store refuses it.
      ['/api/messages?before=2024-02-30T00:00:00Z', 'before'],
      ['/api/messages?before=2023-02-29T00:00:00Z', 'before'],
      ['/api/messages?before=2024-01-01T00:00:00Z&before=x', 'before'],
      ['/api/messages?limit=1e309', 'limit'],
      ['/api/reports/holdout?until=0001-01-01T00:00:00Z', 'until'],
      ['/api/reports/trigger-latency?from=9999-12-31T00:00:00Z', 'from'],
      ['/api/experiments/x/results?until=yesterday', 'until'],
    ]
    for (const [path, param] of cases) {
      const res = await send(`${fx.nudge.url}${path}`, undefined as never, adminHeaders, 'GET')
      expect(res.status, path).toBe(400)
      expect(res.json.error.issues[0].path).toBe(param)
    }
    const ok = await send(`${fx.nudge.url}/api/messages?before=2024-01-01T00:00:00Z`, undefined as never, adminHeaders, 'GET')
    expect(ok.status).toBe(200)
    // A fractional window (found by the fuzzer: bound as Int64 milliseconds, it was a 500).
    for (const windowDays of ['1.5', '1e-100'])
      expect(
        (await send(`${fx.nudge.url}/api/reports/holdout?windowDays=${windowDays}`, undefined as never, adminHeaders, 'GET')).status,
        windowDays,
      ).toBe(200)
    const pixel = await fetch(`${fx.nudge.url}/v1/pixel/track?writeKey=${WRITE_KEY}&userId=a&userId=b&event=E`)
    expect(pixel.status).toBe(400)
    expect(((await pixel.json()) as any).error.issues[0]).toMatchObject({ path: 'userId', rule: 'type' })
  })

  it('the process is alive after all of it', async () => {
    expect((await fetch(`${fx.nudge.url}/healthz`)).status).toBe(200)
  })
})

import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { SERVER_WRITE_KEY, basic, post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows, eventRows } from '../helpers/store.js'

describe('Segment-compatible ingestion endpoints (real HTTP, real chdb)', () => {
  const fx = useTestNudge()
  const rowsOf = (messageId: string) => eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })

  it('track: stores one row with typed columns and JSON properties', async () => {
    const messageId = uid('m')
    const res = await post(`${fx.nudge.url}/v1/track`, {
      messageId,
      userId: 'u-track',
      event: 'Product Viewed',
      properties: { sku: 'A1', price: 19.9 },
    })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ success: true })
    const [row] = await rowsOf(messageId)
    expect(row).toMatchObject({ type: 'track', event: 'Product Viewed', user_id: 'u-track', user_key: 'u-track', source: 'web' })
    expect(JSON.parse(row!.properties)).toEqual({ sku: 'A1', price: 19.9 })
  })

  it('stores text with tabs, newlines, backslashes, quotes and unicode exactly', async () => {
    const messageId = uid('m')
    const tricky = { note: 'a\tb\nc\\d"e\r', emoji: 'snow ☃ 🎉', path: 'C:\\Users\\x' }
    await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u-esc\tx', event: 'Tricky\nName', properties: tricky })
    const [row] = await rowsOf(messageId)
    expect(JSON.parse(row!.properties)).toEqual(tricky)
    expect(row).toMatchObject({ user_id: 'u-esc\tx', event: 'Tricky\nName' })
  })

  it.each([
    ['identify', { traits: { plan: 'pro' } }, { type: 'identify' }],
    ['page', { name: 'Pricing', properties: { url: '/pricing' } }, { type: 'page', name: 'Pricing' }],
    ['screen', { name: 'Home' }, { type: 'screen', name: 'Home' }],
    ['group', { groupId: 'acme', traits: { size: 10 } }, { type: 'group', group_id: 'acme' }],
    ['alias', { previousId: 'old-id' }, { type: 'alias', previous_id: 'old-id' }],
  ])('%s: stored with its own fields', async (type, extra, expected) => {
    const messageId = uid('m')
    const res = await post(`${fx.nudge.url}/v1/${type}`, { messageId, userId: uid('u'), ...extra })
    expect(res.status).toBe(200)
    const rows = await rowsOf(messageId)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject(expected)
  })

  it('batch: mixed types in one request, batch-level context and sentAt applied to each event', async () => {
    const ids = [uid('m'), uid('m'), uid('m')]
    const res = await post(`${fx.nudge.url}/v1/batch`, {
      context: { library: { name: 'analytics-node' } },
      batch: [
        { type: 'track', messageId: ids[0], anonymousId: 'anon-b', event: 'Cart Viewed' },
        { type: 'identify', messageId: ids[1], userId: 'u-b', anonymousId: 'anon-b', traits: { name: 'Bo' } },
        { type: 'page', messageId: ids[2], userId: 'u-b', name: 'Checkout', context: { page: { path: '/checkout' } } },
      ],
    })
    expect(res.status).toBe(200)
    const rows = await eventRows(fx.nudge.store.client, 'message_id IN {ids:Array(String)}', { ids })
    expect(rows.map((r) => r.type).sort()).toEqual(['identify', 'page', 'track'])
    const page = rows.find((r) => r.type === 'page')!
    expect(JSON.parse(page.context)).toEqual({ library: { name: 'analytics-node' }, page: { path: '/checkout' } })
  })

  it('accepts gzip-compressed bodies', async () => {
    const messageId = uid('m')
    const body = gzipSync(Buffer.from(JSON.stringify({ batch: [{ type: 'track', messageId, userId: 'u-gz', event: 'Zipped' }] })))
    const res = await post(`${fx.nudge.url}/v1/batch`, body, { 'content-encoding': 'gzip' })
    expect(res.status).toBe(200)
    expect(await rowsOf(messageId)).toHaveLength(1)
  })

  it('accepts text/plain bodies (navigator.sendBeacon) and the write key in the body', async () => {
    const messageId = uid('m')
    const res = await fetch(`${fx.nudge.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ writeKey: SERVER_WRITE_KEY, messageId, userId: 'u-beacon', event: 'Beacon' }),
    })
    expect(res.status).toBe(200)
    expect((await rowsOf(messageId))[0]?.source).toBe('server')
  })

  it("analytics.js's one-letter paths (/v1/t, /v1/p, /v1/i) are the same calls", async () => {
    const ids = [uid('m'), uid('m'), uid('m')]
    for (const [path, body] of [
      ['t', { messageId: ids[0], anonymousId: 'ajs-1', event: 'Clicked' }],
      ['p', { messageId: ids[1], anonymousId: 'ajs-1', name: 'Home' }],
      ['i', { messageId: ids[2], anonymousId: 'ajs-1', userId: 'u-ajs' }],
    ] as const) {
      const res = await fetch(`${fx.nudge.url}/v1/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ ...body, writeKey: 'wk_test_web' }),
      })
      expect(res.status).toBe(200)
    }
    const rows = await eventRows(fx.nudge.store.client, 'message_id IN {ids:Array(String)}', { ids })
    expect(rows.map((r) => r.type).sort()).toEqual(['identify', 'page', 'track'])
  })

  it('each source has its own write key; the source is recorded', async () => {
    const messageId = uid('m')
    const res = await post(
      `${fx.nudge.url}/v1/track`,
      { messageId, userId: 'u-s', event: 'Server Event' },
      { authorization: basic(SERVER_WRITE_KEY) },
    )
    expect(res.status).toBe(200)
    expect((await rowsOf(messageId))[0]?.source).toBe('server')
  })

  it('401 for a missing or unknown write key, and nothing is stored', async () => {
    const messageId = uid('m')
    const missing = await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u', event: 'E' }, { authorization: '' })
    expect(missing.status).toBe(401)
    expect(missing.json.error.message).toMatch(/Basic/)
    const unknown = await post(
      `${fx.nudge.url}/v1/track`,
      { messageId, userId: 'u', event: 'E' },
      { authorization: basic('nope-not-a-key') },
    )
    expect(unknown.status).toBe(401)
    expect(await rowsOf(messageId)).toHaveLength(0)
  })

  it('pixel: records a track call from query parameters and answers with a GIF', async () => {
    const messageId = uid('m')
    const res = await fetch(
      `${fx.nudge.url}/v1/pixel/track?writeKey=wk_test_web&messageId=${messageId}&userId=u-px&event=Order%20Completed&properties.revenue=42.5&properties.orderId=0042`,
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/gif')
    const [row] = await rowsOf(messageId)
    expect(row).toMatchObject({ type: 'track', event: 'Order Completed', user_id: 'u-px' })
    expect(JSON.parse(row!.properties)).toEqual({ revenue: 42.5, orderId: '0042' })
  })

  it('pixel: Segment-style base64 data parameter, page type', async () => {
    const messageId = uid('m')
    const data = Buffer.from(JSON.stringify({ writeKey: 'wk_test_web', messageId, anonymousId: 'anon-px', name: 'Thank you' })).toString(
      'base64',
    )
    const res = await fetch(`${fx.nudge.url}/v1/pixel/page?data=${encodeURIComponent(data)}`)
    expect(res.status).toBe(200)
    expect((await rowsOf(messageId))[0]).toMatchObject({ type: 'page', name: 'Thank you', anonymous_id: 'anon-px' })
  })

  it('pixel: 401 without a write key, 400 naming the field for a bad event', async () => {
    expect((await fetch(`${fx.nudge.url}/v1/pixel/track?userId=u&event=E`)).status).toBe(401)
    const bad = await fetch(`${fx.nudge.url}/v1/pixel/track?writeKey=wk_test_web&event=E`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as any).error.issues[0]).toMatchObject({ path: 'userId', rule: 'required' })
  })

  it('serves an OpenAPI document generated from the request schemas, and the docs page', async () => {
    const doc = (await (await fetch(`${fx.nudge.url}/openapi.json`)).json()) as any
    for (const path of [
      '/v1/track',
      '/v1/identify',
      '/v1/page',
      '/v1/screen',
      '/v1/alias',
      '/v1/group',
      '/v1/batch',
      '/api/users/{id}',
      '/api/consent',
    ])
      expect(doc.paths[path], path).toBeDefined()
    const ref: string = doc.paths['/v1/track'].post.requestBody.content['application/json'].schema.$ref
    const track = doc.components.schemas[ref.split('/').pop()!]
    expect(track.properties.messageId.maxLength).toBe(100)
    expect(track.required).toContain('event')
    const docs = await fetch(`${fx.nudge.url}/docs`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain('swagger-ui')
  })

  it('healthz is 200 when API, store and Temporal are reachable', async () => {
    const res = await fetch(`${fx.nudge.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await countRows(fx.nudge.store.client, 'nudge_migrations')).toBeGreaterThanOrEqual(3)
  })
})

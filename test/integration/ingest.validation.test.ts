import { describe, expect, it } from 'vitest'
import { post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

describe('bad input gets a clear 4xx naming the field and the rule; nothing is stored', () => {
  const fx = useTestNudge()

  it('malformed JSON → 400 invalid_json', async () => {
    const res = await post(`${fx.nudge.url}/v1/track`, '{"userId": "u", ')
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('invalid_json')
  })

  it.each([
    ['missing both ids', { event: 'E' }, 'userId', 'required'],
    ['missing event name', { userId: 'u' }, 'event', 'required'],
    ['wrong type for properties', { userId: 'u', event: 'E', properties: 'x' }, 'properties', 'type'],
    ['wrong type for userId', { userId: { id: 1 }, event: 'E' }, 'userId', 'type'],
    ['bad timestamp', { userId: 'u', event: 'E', timestamp: '31/12/2024' }, 'timestamp', 'iso8601'],
    ['timestamp without zone', { userId: 'u', event: 'E', timestamp: '2024-05-01T10:00:00' }, 'timestamp', 'iso8601'],
    ['timestamp before 1970', { userId: 'u', event: 'E', timestamp: '1960-01-01T00:00:00Z' }, 'timestamp', 'range'],
    ['timestamp after 2299', { userId: 'u', event: 'E', timestamp: '9999-01-01T00:00:00Z' }, 'timestamp', 'range'],
    ['messageId over 100 chars', { userId: 'u', event: 'E', messageId: 'x'.repeat(101) }, 'messageId', 'max_length'],
  ])('track with %s → 400 naming %s (%s)', async (_what, body, path, rule) => {
    const res = await post(`${fx.nudge.url}/v1/track`, body)
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('invalid_request')
    expect(res.json.error.issues).toContainEqual(expect.objectContaining({ path, rule }))
  })

  it('alias without userId and group without groupId → 400', async () => {
    const alias = await post(`${fx.nudge.url}/v1/alias`, { anonymousId: 'a', previousId: 'p' })
    expect(alias.status).toBe(400)
    expect(alias.json.error.issues).toContainEqual(expect.objectContaining({ path: 'userId', rule: 'required' }))
    const group = await post(`${fx.nudge.url}/v1/group`, { userId: 'u' })
    expect(group.json.error.issues).toContainEqual(expect.objectContaining({ path: 'groupId', rule: 'required' }))
  })

  it('a batch with bad events says which events and why, and stores none of it', async () => {
    const good = uid('m')
    const res = await post(`${fx.nudge.url}/v1/batch`, {
      batch: [
        { type: 'track', messageId: good, userId: 'u', event: 'Fine' },
        { type: 'launch', userId: 'u' },
        { type: 'page', userId: 'u', timestamp: 'yesterday' },
      ],
    })
    expect(res.status).toBe(400)
    const paths = res.json.error.issues.map((i: { path: string }) => i.path)
    expect(paths).toEqual(['batch[1].type', 'batch[2].timestamp'])
    expect(res.json.error.message).toMatch(/2 of 3 events are invalid/)
    expect(await countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id: good })).toBe(0)
  })

  it('an empty batch or a batch that is not an array → 400', async () => {
    expect((await post(`${fx.nudge.url}/v1/batch`, { batch: [] })).json.error.issues[0]).toMatchObject({ path: 'batch', rule: 'min' })
    expect((await post(`${fx.nudge.url}/v1/batch`, { batch: {} })).json.error.issues[0]).toMatchObject({ path: 'batch', rule: 'type' })
  })

  it('an event over 32 KB → 413', async () => {
    const res = await post(`${fx.nudge.url}/v1/track`, { userId: 'u', event: 'Big', properties: { blob: 'x'.repeat(33 * 1024) } })
    expect(res.status).toBe(413)
    expect(res.json.error.code).toBe('payload_too_large')
  })

  it('a batch over 500 KB → 413; an oversized event inside a batch → 413 naming it', async () => {
    const huge = Array.from({ length: 40 }, () => ({ type: 'track', userId: 'u', event: 'E', properties: { blob: 'x'.repeat(15 * 1024) } }))
    const tooBig = await post(`${fx.nudge.url}/v1/batch`, { batch: huge })
    expect(tooBig.status).toBe(413)
    const one = await post(`${fx.nudge.url}/v1/batch`, {
      batch: [
        { type: 'track', userId: 'u', event: 'Small' },
        { type: 'track', userId: 'u', event: 'Big', properties: { blob: 'x'.repeat(33 * 1024) } },
      ],
    })
    expect(one.status).toBe(413)
    expect(one.json.error.issues).toEqual([expect.objectContaining({ path: 'batch[1]', rule: 'max_bytes' })])
  })

  it('an unsupported content encoding → 415', async () => {
    const res = await post(`${fx.nudge.url}/v1/track`, '{}', { 'content-encoding': 'br-custom' })
    expect(res.status).toBe(415)
  })

  it('admin routes need the admin key', async () => {
    const res = await fetch(`${fx.nudge.url}/api/users/u`)
    expect(res.status).toBe(401)
    const wrong = await fetch(`${fx.nudge.url}/api/users/u`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
  })

  it('the process survives all of it and still ingests', async () => {
    const messageId = uid('m')
    expect((await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u', event: 'Still here' })).status).toBe(200)
    expect(await countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id: messageId })).toBe(1)
  })
})

import { describe, expect, it } from 'vitest'
import { post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows, eventRows } from '../helpers/store.js'

describe('idempotency by messageId and clock-skew correction', () => {
  const fx = useTestNudge()
  const count = (id: string) => countRows(fx.nudge.store.client, 'events', 'message_id = {id:String}', { id })

  it('a retried event is stored once', async () => {
    const messageId = uid('m')
    const body = { messageId, userId: 'u-d', event: 'Order Completed' }
    for (let i = 0; i < 3; i++) expect((await post(`${fx.nudge.url}/v1/track`, body)).status).toBe(200)
    expect(await count(messageId)).toBe(1)
  })

  it('duplicates inside one batch and across batches are stored once', async () => {
    const a = uid('m')
    const b = uid('m')
    const ev = (messageId: string) => ({ type: 'track', messageId, userId: 'u-d', event: 'Cart Viewed' })
    expect((await post(`${fx.nudge.url}/v1/batch`, { batch: [ev(a), ev(a), ev(b)] })).status).toBe(200)
    expect((await post(`${fx.nudge.url}/v1/batch`, { batch: [ev(b), ev(a)] })).status).toBe(200)
    expect(await count(a)).toBe(1)
    expect(await count(b)).toBe(1)
  })

  it('concurrent retries of the same event (as from a client timeout) are stored once', async () => {
    const messageId = uid('m')
    const body = { messageId, userId: 'u-c', event: 'Checkout Started' }
    const results = await Promise.all(Array.from({ length: 8 }, () => post(`${fx.nudge.url}/v1/track`, body)))
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(await count(messageId)).toBe(1)
  })

  it('events without a messageId get one each and are all kept', async () => {
    const user = uid('u')
    for (let i = 0; i < 3; i++) await post(`${fx.nudge.url}/v1/track`, { userId: user, event: 'No Id' })
    const rows = await eventRows(fx.nudge.store.client, 'user_id = {u:String}', { u: user })
    expect(rows).toHaveLength(3)
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(3)
  })

  it('corrects a skewed device clock: event time = receivedAt − (sentAt − timestamp)', async () => {
    const messageId = uid('m')
    // The device clock is 2 hours fast; the event happened 30 s before it was sent.
    const deviceNow = Date.now() + 2 * 3600_000
    const before = Date.now()
    const res = await post(`${fx.nudge.url}/v1/track`, {
      messageId,
      userId: 'u-skew',
      event: 'Product Viewed',
      timestamp: new Date(deviceNow - 30_000).toISOString(),
      sentAt: new Date(deviceNow).toISOString(),
    })
    const after = Date.now()
    expect(res.status).toBe(200)
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    const stored = Date.parse(row!.timestamp)
    expect(stored).toBeGreaterThanOrEqual(before - 30_000)
    expect(stored).toBeLessThanOrEqual(after - 30_000)
    expect(Date.parse(row!.original_timestamp)).toBe(deviceNow - 30_000)
    expect(Date.parse(row!.sent_at)).toBe(deviceNow)
  })

  it('keeps a historical timestamp as given when no sentAt is sent (imports)', async () => {
    const messageId = uid('m')
    await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u-hist', event: 'Order Completed', timestamp: '2024-03-01T12:00:00.000Z' })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(row!.timestamp).toBe('2024-03-01T12:00:00.000Z')
  })

  it('applies the batch-level sentAt to events without their own', async () => {
    const messageId = uid('m')
    const deviceNow = Date.now() - 3600_000 // device clock an hour slow
    const before = Date.now()
    await post(`${fx.nudge.url}/v1/batch`, {
      sentAt: new Date(deviceNow).toISOString(),
      batch: [{ type: 'track', messageId, userId: 'u-bs', event: 'E', timestamp: new Date(deviceNow - 10_000).toISOString() }],
    })
    const [row] = await eventRows(fx.nudge.store.client, 'message_id = {id:String}', { id: messageId })
    expect(Date.parse(row!.timestamp)).toBeGreaterThanOrEqual(before - 10_000)
    expect(Date.parse(row!.timestamp)).toBeLessThanOrEqual(Date.now() - 10_000)
  })

  it('a retry after a restart is still recognised (close and reopen the store)', async () => {
    const messageId = uid('m')
    const body = { messageId, userId: 'u-r', event: 'Order Completed' }
    expect((await post(`${fx.nudge.url}/v1/track`, body)).status).toBe(200)
    await fx.restart()
    expect((await post(`${fx.nudge.url}/v1/track`, body)).status).toBe(200)
    expect(await count(messageId)).toBe(1)
  })
})

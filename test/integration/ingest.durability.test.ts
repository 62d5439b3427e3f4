import { describe, expect, it } from 'vitest'
import { post, uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

describe('durability: a 200 means stored; failures are 503/429 with Retry-After, never 200-then-drop', () => {
  const fx = useTestNudge({ env: { INGEST_MAX_QUEUED_ROWS: '50' } })
  const count = (ids: string[]) => countRows(fx.nudge.store.client, 'events', 'message_id IN {ids:Array(String)}', { ids })

  it('every acknowledged event survives a restart; nothing acknowledged is lost', async () => {
    const acked: string[] = []
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const batch = Array.from({ length: 2 }, () => ({ type: 'track', messageId: uid('m'), userId: uid('u'), event: 'Load' }))
        const res = await post(`${fx.nudge.url}/v1/batch`, { batch })
        if (res.status === 200) acked.push(...batch.map((e) => e.messageId))
        else expect([429, 503]).toContain(res.status)
      }),
    )
    expect(acked.length).toBeGreaterThan(0)
    await fx.restart()
    expect(await count(acked)).toBe(acked.length)
  })

  it('when the store refuses the insert: 503 + Retry-After, and the event is not stored', async () => {
    const client = fx.nudge.store.client
    await client.command({ query: 'RENAME TABLE events TO events_offline' })
    const messageId = uid('m')
    try {
      const res = await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u-down', event: 'Order Completed' })
      expect(res.status).toBe(503)
      expect(res.json.error.code).toBe('store_unavailable')
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      await client.command({ query: 'RENAME TABLE events_offline TO events' })
    }
    expect(await count([messageId])).toBe(0)
    // The client's retry, once the store is back, is stored exactly once.
    expect((await post(`${fx.nudge.url}/v1/track`, { messageId, userId: 'u-down', event: 'Order Completed' })).status).toBe(200)
    expect(await count([messageId])).toBe(1)
  })

  it('when the queue is full: 429 + Retry-After before anything is accepted (bounded memory)', async () => {
    const batch = Array.from({ length: 51 }, () => ({ type: 'track', messageId: uid('m'), userId: 'u-q', event: 'Flood' }))
    const res = await post(`${fx.nudge.url}/v1/batch`, { batch })
    expect(res.status).toBe(429)
    expect(res.json.error.code).toBe('overloaded')
    expect(res.headers.get('retry-after')).toBe('1')
    expect(await count(batch.map((e) => e.messageId))).toBe(0)
  })

  it('graceful stop flushes what was accepted: requests in flight during stop are stored or refused, never dropped', async () => {
    const sent = Array.from({ length: 10 }, () => ({ messageId: uid('m'), userId: 'u-stop', event: 'Late' }))
    const inflight = sent.map((e) => post(`${fx.nudge.url}/v1/track`, e).catch(() => ({ status: 0 })))
    const restarting = fx.restart() // stops at once, while the requests are in flight
    const results = await Promise.all(inflight)
    await restarting
    const acked = sent.filter((_, i) => results[i]!.status === 200).map((e) => e.messageId)
    expect(await count(acked)).toBe(acked.length)
  })
})

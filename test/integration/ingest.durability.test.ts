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
})

describe('durability: a graceful stop flushes what it accepted', () => {
  // A long linger holds accepted events in the writer's queue, so the stop finds them there.
  const fx = useTestNudge({ env: { INGEST_LINGER_MS: '1000' } })
  const count = (ids: string[]) => countRows(fx.nudge.store.client, 'events', 'message_id IN {ids:Array(String)}', { ids })

  it('graceful stop flushes what was accepted: requests in flight during stop are stored or refused, never dropped', async () => {
    // One write starts the linger clock: the next batch waits up to a second behind it.
    expect((await post(`${fx.nudge.url}/v1/track`, { messageId: uid('m'), userId: 'u-stop', event: 'Early' })).status).toBe(200)
    const sent = Array.from({ length: 10 }, () => ({ messageId: uid('m'), userId: 'u-stop', event: 'Late' }))
    const answered: { status: number; at: number }[] = []
    const inflight = sent.map((e, i) =>
      post(`${fx.nudge.url}/v1/track`, e)
        .catch(() => ({ status: 0 }))
        .then((r) => (answered[i] = { status: r.status, at: Date.now() })),
    )
    await new Promise((r) => setTimeout(r, 200)) // received and queued, not yet written
    const stopAt = Date.now()
    const restarting = fx.restart()
    await Promise.all(inflight)
    await restarting
    // Each request was stored (200) or refused (503 / 429 / connection refused), never anything else.
    for (const a of answered) expect([0, 200, 429, 503]).toContain(a.status)
    const acked = sent.filter((_, i) => answered[i]!.status === 200).map((e) => e.messageId)
    // The stop itself acknowledged some: they were still queued when it began, and it wrote them.
    expect(answered.filter((a) => a.status === 200 && a.at >= stopAt).length).toBeGreaterThan(0)
    expect(await count(acked)).toBe(acked.length)
  })
})

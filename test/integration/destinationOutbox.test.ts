import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../clickhouse/store.js'
import { Deliverer } from '../../destinations/deliverer.js'
import { type DestinationDefinition, destinationDefinition } from '../../destinations/destinationSchema.js'
import type { DestinationRecord } from '../../destinations/destinationRecord.js'
import { Feeder } from '../../destinations/feeder.js'
import { Outbox } from '../../destinations/outbox.js'
import { RateLimiter } from '../../destinations/rateLimiter.js'
import { replayDeadLetters } from '../../destinations/destinationReport.js'
import { tempDataDir } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'
import { startFakeWebhookServer } from '../helpers/fakeWebhookServer.js'

/** The outbox, the feeder and the deliverer on the real engine and a loopback receiver (no Temporal: the workflow is tested end to end in destinations.test.ts). */
const SECRET = 'whsec_outbox_test_secret'

describe('destination outbox and delivery', () => {
  const data = tempDataDir()
  let store: Store
  let hook: Awaited<ReturnType<typeof startFakeWebhookServer>>
  let dest: DestinationDefinition
  const optedOut = new Set<string>()
  const mayLeave = (u: string) => !optedOut.has(u)
  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    hook = await startFakeWebhookServer(SECRET)
    dest = destinationDefinition.parse({
      id: 'hook',
      name: 'hook',
      kind: 'webhook',
      records: { segments: {}, outcomes: { kinds: ['opened'] } },
      rateLimitPerSecond: 1000,
      config: { url: `${hook.url}/hooks/nudge`, secret: SECRET },
    })
  })
  afterAll(async () => {
    await hook.close()
    await store?.close()
    data.remove()
  })
  const deliverer = (extra: Partial<ConstructorParameters<typeof Deliverer>[0]> = {}) =>
    new Deliverer({ client: store.client, destination: (id) => (id === dest.id ? dest : undefined), mayLeave, ...extra })
  const transitions = (rows: { user: string; entered: boolean; at: number }[]) =>
    store.client.insert({
      table: 'segment_transitions',
      format: 'JSONEachRow',
      values: rows.map((r) => ({
        segment_id: 'vip',
        user_key: r.user,
        entered: r.entered ? 1 : 0,
        at: r.at,
        cause: 'event',
        trigger_message_id: '',
        segment_version: 1,
      })),
    })

  it('the feeder enqueues new transitions once, in event order, and skips users who may not leave', async () => {
    let now = Date.now()
    const feeder = new Feeder({ client: store.client, destinations: () => [dest], mayLeave, traitsOf: async () => ({}), now: () => now })
    expect(await feeder.poll()).toBe(0) // the first poll only places the cursors at "now"
    optedOut.add('nope')
    await transitions([
      { user: 'a', entered: true, at: now + 10 },
      { user: 'a', entered: false, at: now + 20 },
      { user: 'b', entered: true, at: now + 15 },
      { user: 'nope', entered: true, at: now + 15 },
    ])
    now += 1000
    expect(await feeder.poll()).toBe(3)
    expect(await feeder.poll()).toBe(0) // the overlap reads them again: nothing twice
    const pending = await new Outbox(store.client).inState('hook', 'pending', 100)
    expect(pending.map((r) => [r.record.userKey, r.record.kind])).toEqual([
      ['a', 'segment_entered'],
      ['b', 'segment_entered'],
      ['a', 'segment_exited'],
    ])
  })

  it('a retryable failure stops the batch where it is: nothing after it overtakes it; the failed record counts an attempt', async () => {
    const d = deliverer()
    const { recordIds } = await d.nextBatch('hook')
    expect(recordIds).toHaveLength(3)
    hook.fail({ status: 200 }, { status: 503, retryAfter: '2' })
    const first = await d.send('hook', recordIds)
    expect(first).toMatchObject({ delivered: 1, retry: { code: 'unavailable', retryAfterMs: 2000 } })
    const left = await new Outbox(store.client).inState('hook', 'pending', 100)
    expect(left.map((r) => [r.record.userKey, r.attempts])).toEqual([
      ['b', 1],
      ['a', 0],
    ])
    const second = await d.send('hook', recordIds)
    expect(second).toEqual({ delivered: 2, dead: 0, withheld: 0 })
    expect([...hook.deliveries.values()].map((x) => `${x.userId}:${x.type}`)).toEqual(['b:segment_entered', 'a:segment_exited'])
  })

  it('permanent refusals go to the dead-letter list and the batch goes on; replay sends them again', async () => {
    const outbox = new Outbox(store.client)
    const at = Date.now()
    const rec = (id: string, userKey: string): DestinationRecord => ({ id, userKey, kind: 'opened', at, data: { messageId: id } })
    await outbox.write(
      [rec('o1', 'c'), rec('o2', 'c')].map((record, i) => ({
        destinationId: 'hook',
        record,
        seq: at + i,
        state: 'pending',
        attempts: 0,
        lastError: '',
        enqueuedAt: at,
        updatedAt: at,
      })),
    )
    hook.fail({ status: 400, body: '{"message":"bad"}' })
    const d = deliverer()
    const { recordIds } = await d.nextBatch('hook')
    expect(await d.send('hook', recordIds)).toEqual({ delivered: 1, dead: 1, withheld: 0 })
    const dead = await outbox.inState('hook', 'dead', 10)
    expect(dead.map((r) => [r.record.id, r.attempts])).toEqual([['o1', 1]])
    expect(dead[0]!.lastError).toContain('HTTP 400')
    expect(await replayDeadLetters(store.client, 'hook')).toBe(1)
    expect(await d.send('hook', (await d.nextBatch('hook')).recordIds)).toEqual({ delivered: 1, dead: 0, withheld: 0 })
    expect(await outbox.inState('hook', 'dead', 10)).toEqual([])
  })

  it('consent withdrawn after enqueueing: the record is withheld, never sent', async () => {
    const outbox = new Outbox(store.client)
    const at = Date.now()
    await outbox.write([
      {
        destinationId: 'hook',
        record: { id: 'w1', userKey: 'late', kind: 'opened', at, data: {} },
        seq: at,
        state: 'pending',
        attempts: 0,
        lastError: '',
        enqueuedAt: at,
        updatedAt: at,
      },
    ])
    optedOut.add('late')
    const before = hook.all.length
    const d = deliverer()
    expect(await d.send('hook', (await d.nextBatch('hook')).recordIds)).toEqual({ delivered: 0, dead: 0, withheld: 1 })
    expect(hook.all.length).toBe(before)
    expect((await outbox.inState('hook', 'withheld', 10)).map((r) => r.record.id)).toEqual(['w1'])
  })

  it('the rate limit spaces requests: 5 per second', async () => {
    const limiter = new RateLimiter()
    const t0 = Date.now()
    for (let i = 0; i < 10; i++) await limiter.take('x', 5)
    // A burst of 5, then 5 more at 200 ms apart.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
  })
  it('the feeder moves past a millisecond holding more rows than a page (a segment recompute stamps every change alike)', async () => {
    const bulk = { ...dest, id: 'bulk', records: { segments: { segments: ['vip'], entered: true, exited: true } } } as DestinationDefinition
    let now = Date.now() + 60_000
    const feeder = new Feeder({ client: store.client, destinations: () => [bulk], mayLeave, traitsOf: async () => ({}), now: () => now })
    await feeder.poll() // the cursors at "now"
    const t = now + 10
    await transitions([
      ...Array.from({ length: 6000 }, (_, i) => ({ user: `bulk-${i}`, entered: true, at: t })),
      { user: 'bulk-after', entered: true, at: t + 1 },
    ])
    now += 1000
    await feeder.poll()
    await feeder.poll()
    const pending = await new Outbox(store.client).inState('bulk', 'pending', 10_000)
    expect(pending.filter((r) => r.record.userKey.startsWith('bulk-')).length).toBe(6001)
    expect(pending.at(-1)!.record.userKey).toBe('bulk-after')
  })
  it('a batch that outlasts its time budget settles what it sent and leaves the rest pending', async () => {
    const slow = { ...dest, id: 'slow' } as DestinationDefinition
    const outbox = new Outbox(store.client)
    const at = Date.now()
    await outbox.write(
      ['s1', 's2', 's3'].map((id, i) => ({
        destinationId: 'slow',
        record: { id, userKey: `slow-${id}`, kind: 'opened' as const, at: at + i, data: { messageId: id } },
        seq: at + i,
        state: 'pending' as const,
        attempts: 0,
        lastError: '',
        enqueuedAt: at,
        updatedAt: at,
      })),
    )
    // Each look at the clock is 3 minutes later: the budget (5 minutes) runs out before the third record.
    let clock = at
    const d = new Deliverer({
      client: store.client,
      destination: (id) => (id === 'slow' ? slow : undefined),
      mayLeave,
      now: () => (clock += 180_000),
    })
    expect(await d.send('slow', ['s1', 's2', 's3'])).toEqual({ delivered: 2, dead: 0, withheld: 0 })
    expect((await outbox.inState('slow', 'pending', 10)).map((r) => r.record.id)).toEqual(['s3'])
  })
})

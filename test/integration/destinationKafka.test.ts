import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import type { Consumer, Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectRows } from '../../clickhouse/store.js'
import { admin, post, uid, useTestNudge } from '../helpers/harness.js'
import { kafkaBrokers, testKafka } from '../helpers/kafkaHelpers.js'

/**
 * The `kafka` destination kind end to end on the real thing: Nudge (role all: API, worker,
 * Temporal dev server, chdb) producing to the run's real broker, read back by a consumer as any
 * receiving system would.
 */
interface Seen {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: Record<string, string>
}

async function waitFor<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

describe('kafka destinations', () => {
  const suffix = randomUUID().slice(0, 8)
  const topics = {
    main: `test.dest.${suffix}`,
    consent: `test.dest.${suffix}.consent`,
    down: `test.dest.${suffix}.down`,
    compacted: `test.dest.${suffix}.compacted`,
  }
  let kafka: Kafka
  let reader: Consumer
  let brokers: string[]
  let deadPort: number
  const seen: Seen[] = []

  beforeAll(async () => {
    brokers = kafkaBrokers().split(',')
    deadPort = await closedPort()
    kafka = testKafka()
    const adm = kafka.admin()
    await adm.connect()
    await adm.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.main, numPartitions: 3 },
        { topic: topics.consent, numPartitions: 3 },
        { topic: topics.down, numPartitions: 3 },
        { topic: topics.compacted, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    })
    await adm.disconnect()
    reader = kafka.consumer({ groupId: `reader-${suffix}`, maxWaitTimeInMs: 100 })
    await reader.connect()
    await reader.subscribe({ topics: Object.values(topics), fromBeginning: true })
    await reader.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))
        seen.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
        })
      },
    })
  }, 60_000)
  afterAll(async () => {
    await reader?.disconnect()
  })

  // KAFKA_BROKERS (ingest stays direct): the default of a destination that names no brokers.
  const fx = useTestNudge({
    role: 'all',
    env: () => ({ DESTINATIONS_POLL: '200ms', DESTINATIONS_RETRY_INITIAL: '100ms', SEGMENT_BATCH_MS: '10', KAFKA_BROKERS: kafkaBrokers() }),
  })
  const api = (path = '') => `${fx.nudge.url}/api/destinations${path}`
  const track = (userId: string, event: string) => post(`${fx.nudge.url}/v1/track`, { userId, event, messageId: uid('m') })
  const destination = (id: string, topic: string, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => ({
    id,
    name: `kafka ${id}`,
    kind: 'kafka',
    records: { segments: { segments: ['kd-buyers', 'kd-browsers'] }, traits: { properties: ['event_count'] } },
    config: { topic, brokers, ...config },
    timeoutMs: 2000,
    ...extra,
  })
  const onTopic = (topic: string, user: string) => seen.filter((m) => m.topic === topic && m.key === user)
  const delivered = async (destinationId: string, user: string) =>
    selectRows<{ record_id: string; kind: string; state: string }>(
      fx.nudge.store.client,
      `SELECT record_id, kind, state FROM destination_outbox FINAL
       WHERE destination_id = {d:String} AND user_key = {u:String} ORDER BY seq, record_id`,
      { d: destinationId, u: user },
    )

  it('segments to follow', async () => {
    for (const [id, event] of [
      ['kd-buyers', 'Checkout Started'],
      ['kd-browsers', 'Product Viewed'],
    ])
      expect(
        (await admin(`${fx.nudge.url}/api/segments`, 'POST', { id, name: id, rule: { performed: { event, within: '7d' } } })).status,
      ).toBe(201)
  })

  it('records (brokers from KAFKA_BROKERS) arrive on the topic keyed by user, in each user’s order on one partition, with the webhook body and the id header', async () => {
    // No brokers of its own: KAFKA_BROKERS.
    expect((await admin(api(), 'POST', destination('kd-main', topics.main, {}, { brokers: undefined }))).status).toBe(201)
    expect((await admin(api('/kd-main'))).json.config.brokers).toBeUndefined()
    const users = [uid('u'), uid('u'), uid('u')]
    for (const user of users) await track(user, 'Checkout Started')
    for (const user of users) await track(user, 'Product Viewed')
    for (const user of users) {
      // Both entries and at least one traits record, every record delivered, and as many messages on the topic.
      const rows = await waitFor(`delivery of ${user}`, async () => {
        const r = await delivered('kd-main', user)
        const complete = r.filter((x) => x.kind === 'segment_entered').length === 2 && r.some((x) => x.kind === 'traits')
        return complete && r.every((x) => x.state === 'delivered') ? r : undefined
      })
      const msgs = await waitFor(`messages of ${user}`, () =>
        onTopic(topics.main, user).length >= rows.length ? onTopic(topics.main, user) : undefined,
      )
      expect(msgs).toHaveLength(rows.length)
      expect(new Set(msgs.map((m) => m.partition)).size).toBe(1)
      const inOffsetOrder = [...msgs].sort((a, b) => a.offset - b.offset)
      expect(inOffsetOrder.map((m) => m.headers['nudge-delivery-id'])).toEqual(rows.map((r) => r.record_id))
      for (const m of inOffsetOrder) {
        const body = JSON.parse(m.value!)
        expect(Object.keys(body).sort()).toEqual(['event', 'id', 'properties', 'timestamp', 'type', 'userId'])
        expect(body).toMatchObject({ id: m.headers['nudge-delivery-id'], userId: user, type: m.headers['nudge-record-type'] })
        expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp)
      }
      const bodies = inOffsetOrder.map((m) => JSON.parse(m.value!))
      const entries = bodies.filter((b) => b.type === 'segment_entered')
      expect(entries.map((b) => b.properties.segmentId)).toEqual(['kd-buyers', 'kd-browsers'])
      expect(entries[0]).toMatchObject({ event: 'Segment Entered' })
      expect(bodies.find((b) => b.type === 'traits')).toMatchObject({
        event: 'Traits Computed',
        properties: { traits: expect.any(Object) },
      })
    }
    const report = (await admin(api('/report'))).json.destinations.find((r: { destinationId: string }) => r.destinationId === 'kd-main')
    expect(report).toMatchObject({ deadLettered: 0 })
    expect(report.delivered).toBeGreaterThanOrEqual(9)
  })

  it('a user who withdrew the destination’s consent topic: none of their records reach the topic', async () => {
    expect((await admin(api(), 'POST', destination('kd-consent', topics.consent, { consentTopics: ['marketing'] }))).status).toBe(201)
    const optedOut = uid('u')
    const optedIn = uid('u')
    expect((await admin(`${fx.nudge.url}/api/consent`, 'POST', { userId: optedOut, topics: { marketing: false } })).status).toBe(200)
    await track(optedOut, 'Checkout Started')
    await track(optedIn, 'Checkout Started')
    await waitFor('the consenting user', () => onTopic(topics.consent, optedIn).length >= 2)
    // kd-main asks for `tracking` only: the opted-out user's records do go there.
    await waitFor('the other destination', () => onTopic(topics.main, optedOut).length >= 2)
    expect(onTopic(topics.consent, optedOut)).toEqual([])
  })

  it('an unreachable broker: retried, then dead letters; replay after pointing it at the real broker delivers', async () => {
    const def = destination('kd-down', topics.down, { maxAttempts: 2 }, { brokers: [`127.0.0.1:${deadPort}`] })
    expect((await admin(api(), 'POST', def)).status).toBe(201)
    const user = uid('u')
    await track(user, 'Checkout Started')
    const dead = await waitFor(
      'dead letters',
      async () => {
        const mine = (await admin(api('/kd-down/dead-letters'))).json.deadLetters.filter((d: { userId: string }) => d.userId === user)
        return mine.length >= 2 ? mine : undefined
      },
      90_000,
    )
    expect(dead[0]).toMatchObject({ kind: 'segment_entered', userId: user, lastError: expect.stringMatching(/Connection|ECONNREFUSED/) })
    const report = (await admin(api('/report'))).json.destinations.find((r: { destinationId: string }) => r.destinationId === 'kd-down')
    expect(report.retried).toBeGreaterThanOrEqual(1)
    expect(onTopic(topics.down, user)).toEqual([])

    const { version: _v, updatedAt: _u, ...current } = (await admin(api('/kd-down'))).json
    expect((await admin(api('/kd-down'), 'PUT', { ...current, config: { ...current.config, brokers } })).status).toBe(200)
    const replay = await admin(api('/kd-down/dead-letters/replay'), 'POST', {})
    expect(replay.json.replayed).toBeGreaterThanOrEqual(2)
    const msgs = await waitFor('replayed', () => (onTopic(topics.down, user).length >= 2 ? onTopic(topics.down, user) : undefined))
    expect(msgs.map((m) => JSON.parse(m.value!).type)).toEqual(['segment_entered', 'traits'])
    expect(msgs.map((m) => m.headers['nudge-delivery-id'])).toEqual(dead.map((d: { recordId: string }) => d.recordId))
    expect((await admin(api('/kd-down/dead-letters'))).json.deadLetters.filter((d: { userId: string }) => d.userId === user)).toEqual([])
  }, 120_000)

  it('erasure on a compacted topic: a tombstone keyed by the user; none on an uncompacted one', async () => {
    expect((await admin(api(), 'POST', destination('kd-compacted', topics.compacted, {}, { compacted: true }))).status).toBe(201)
    const user = uid('u')
    await track(user, 'Checkout Started')
    await waitFor('delivered to the compacted topic', () => onTopic(topics.compacted, user).length >= 2)
    await waitFor('delivered to the main topic', () => onTopic(topics.main, user).length >= 2)
    expect((await admin(`${fx.nudge.url}/api/users/${user}`, 'DELETE')).status).toBeLessThan(300)
    const tombstone = await waitFor('tombstone', () => onTopic(topics.compacted, user).find((m) => m.value === null))
    expect(tombstone.headers['nudge-record-type']).toBe('user_erased')
    await new Promise((r) => setTimeout(r, 500))
    expect(onTopic(topics.main, user).filter((m) => m.value === null)).toEqual([])
  })
})

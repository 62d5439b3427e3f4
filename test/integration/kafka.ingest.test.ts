import { randomUUID } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../core/log.js'
import { selectRows } from '../../clickhouse/store.js'
import { loadConfig } from '../../runtime/config.js'
import { startConsumer } from '../../runtime/kafkaWiring.js'
import type { RunningNudge } from '../../runtime/nudge.js'
import { ENCRYPTION_KEY, post, tempDataDir } from '../helpers/harness.js'
import { eventCounts, kafkaTestEnv, produceRaw, readTopic, startKafkaNudge, testKafka, untilConsumed } from '../helpers/kafkaHelpers.js'

describe('INGEST_MODE=kafka: HTTP → Kafka → ClickHouse on a real broker', () => {
  const data = tempDataDir()
  const env = kafkaTestEnv()
  let nudge: RunningNudge & { url: string }
  let kafka: Kafka
  const consumed = () => untilConsumed(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)

  beforeAll(async () => {
    kafka = testKafka()
    nudge = await startKafkaNudge(data.dir, env)
  })
  afterAll(async () => {
    await nudge?.stop()
    data.remove()
  })

  it('100,000 events acknowledged over HTTP are stored exactly once (0 lost, 0 duplicated); a replay from offset 0 stores nothing twice', async () => {
    const prefix = `bulk-${randomUUID().slice(0, 8)}-`
    const requests = 200
    const perRequest = 500
    let next = 0
    const statuses: number[] = []
    // Eight clients at once, each sending batches of 500 events of 2,000 users.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = next++; r < requests; r = next++) {
          const batch = Array.from({ length: perRequest }, (_, i) => {
            const n = r * perRequest + i
            return {
              type: 'track',
              messageId: `${prefix}${n}`,
              userId: `bulk-user-${n % 2000}`,
              event: 'Product Viewed',
              properties: { n },
            }
          })
          statuses.push((await post(`${nudge.url}/v1/batch`, { batch })).status)
        }
      }),
    )
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    await consumed()
    expect(await eventCounts(nudge.store.client, prefix)).toEqual({ rows: 100_000, ids: 100_000 })

    // Another group reads the whole topic again into the same store (an offset reset, a new
    // consumer deployment): every id is already stored, so nothing is.
    const replayGroup = `${env.KAFKA_GROUP_ID}-replay`
    const config = loadConfig({ ...env, KAFKA_GROUP_ID: replayGroup, NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY, DATA_DIR: data.dir })
    const metrics = { registry: new Registry(), rejected: () => undefined }
    const replay = await startConsumer(config, createLogger('error'), { kafka }, { writer: nudge.writer, store: nudge.store, metrics })
    try {
      await untilConsumed(kafka, replayGroup, env.KAFKA_TOPIC)
    } finally {
      await replay.stop()
    }
    expect(await eventCounts(nudge.store.client, prefix)).toEqual({ rows: 100_000, ids: 100_000 })
    const duplicates = await metrics.registry.getSingleMetric('nudge_kafka_consumed_events_total')?.get()
    expect(duplicates?.values.find((v) => v.labels.outcome === 'duplicate')?.value).toBeGreaterThanOrEqual(100_000)
  })

  it("keeps each user's order: a purchase produced after its cart is never announced to the router before it", async () => {
    const tag = randomUUID().slice(0, 8)
    const seen = new Map<string, string[]>()
    // The router is a stored-batch listener too, registered first: it hears batches in this order.
    nudge.writer.onStored((events) => {
      for (const e of events) if (e.userKey.startsWith(`order-${tag}`)) seen.set(e.userKey, [...(seen.get(e.userKey) ?? []), e.event])
    })
    const users = Array.from({ length: 300 }, (_, i) => `order-${tag}-${i}`)
    let next = 0
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = next++; i < users.length; i = next++) {
          for (const event of ['Cart Updated', 'Checkout Started', 'Order Completed'])
            expect((await post(`${nudge.url}/v1/track`, { userId: users[i], event, properties: { step: event } })).status).toBe(200)
        }
      }),
    )
    await consumed()
    for (const u of users) expect(seen.get(u)).toEqual(['Cart Updated', 'Checkout Started', 'Order Completed'])
  })

  it('a poison message goes to the dead-letter topic with its reason, is counted in /metrics, and the partition goes on; Segment JSON from another producer is stored', async () => {
    const tag = randomUUID().slice(0, 8)
    const key = `poison-${tag}` // one key: one partition, so the good messages after the bad ones prove it goes on
    const good = (n: number) => JSON.stringify({ type: 'track', messageId: `${tag}-good-${n}`, userId: key, event: 'Product Viewed' })
    await produceRaw(kafka, env.KAFKA_TOPIC, [
      { key, value: good(1) },
      { key, value: '{"type":"track", not json' },
      { key, value: JSON.stringify({ type: 'track', messageId: `${tag}-bad`, event: 'No user' }) },
      { key, value: good(2) },
      // Another system's event: no Nudge headers, Segment's own timestamp.
      {
        key,
        value: JSON.stringify({
          type: 'identify',
          messageId: `${tag}-ext`,
          userId: key,
          traits: { plan: 'pro' },
          timestamp: '2026-01-02T03:04:05Z',
        }),
      },
    ])
    await consumed()
    const stored = await selectRows<{ message_id: string; source: string }>(
      nudge.store.client,
      'SELECT message_id, source FROM events WHERE startsWith(message_id, {t:String}) ORDER BY message_id',
      { t: tag },
    )
    expect(stored).toEqual([
      { message_id: `${tag}-ext`, source: 'kafka' },
      { message_id: `${tag}-good-1`, source: 'kafka' },
      { message_id: `${tag}-good-2`, source: 'kafka' },
    ])
    const dead = await readTopic(kafka, env.KAFKA_DLQ_TOPIC, 2)
    expect(dead.map((d) => d.headers['nudge-error']?.split(':')[0])).toEqual(['invalid_json', 'invalid_event'])
    expect(dead[1]!.headers['nudge-error']).toContain('userId')
    expect(dead[0]).toMatchObject({ key, value: '{"type":"track", not json' })
    expect(dead[0]!.headers['nudge-origin']).toMatch(new RegExp(`^${env.KAFKA_TOPIC}/\\d+/\\d+$`))
    const metrics = await (await fetch(`${nudge.url}/metrics`)).text()
    expect(metrics).toMatch(/nudge_kafka_dead_letters_total\{reason="invalid_json"\} 1/)
    expect(metrics).toMatch(/nudge_kafka_dead_letters_total\{reason="invalid_event"\} 1/)
  })

  it('the API still validates before producing: a bad event is a 400 and never reaches the topic', async () => {
    const res = await post(`${nudge.url}/v1/track`, { event: 'No user at all' })
    expect(res.status).toBe(400)
    expect(res.json.error.code).toBe('invalid_request')
  })
})

import { randomUUID } from 'node:crypto'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../core/log.js'
import { loadConfig } from '../../runtime/config.js'
import { startConsumer } from '../../runtime/kafkaWiring.js'
import type { RunningNudge } from '../../runtime/nudge.js'
import { ENCRYPTION_KEY, tempDataDir } from '../helpers/harness.js'
import { eventCounts, groupProgress, kafkaTestEnv, produceRaw, startKafkaNudge, testKafka, untilConsumed } from '../helpers/kafkaHelpers.js'

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('two consumers in one group', () => {
  const data = tempDataDir()
  const env = kafkaTestEnv(6)
  const kafka = testKafka()
  let nudge: RunningNudge
  beforeAll(async () => {
    nudge = await startKafkaNudge(data.dir, env, false)
  })
  afterAll(async () => {
    await nudge?.stop()
    data.remove()
  })

  it('split the partitions between them, and a rebalance (one joins, then one leaves) loses nothing and stores nothing twice', async () => {
    const config = loadConfig({ ...env, NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY, DATA_DIR: data.dir })
    const member = async () => {
      const registry = new Registry()
      const consumer = await startConsumer(
        config,
        createLogger('error'),
        { kafka },
        { writer: nudge.writer, store: nudge.store, metrics: { registry, rejected: () => undefined } },
      )
      const stored = async () =>
        (await registry.getSingleMetric('nudge_kafka_consumed_events_total')?.get())?.values.find((v) => v.labels.outcome === 'stored')
          ?.value ?? 0
      return { consumer, stored }
    }
    const prefix = `group-${randomUUID().slice(0, 8)}-`
    let produced = 0
    const produce = (n: number) => {
      const from = produced
      produced += n
      return produceRaw(
        kafka,
        env.KAFKA_TOPIC,
        Array.from({ length: n }, (_, i) => ({
          key: `group-user-${(from + i) % 500}`,
          value: JSON.stringify({
            type: 'track',
            messageId: `${prefix}${from + i}`,
            userId: `group-user-${(from + i) % 500}`,
            event: 'Product Viewed',
          }),
        })),
      )
    }
    const committed = async () => (await groupProgress(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)).committed

    const a = await member()
    await until('the first member holds every partition', () => a.consumer.partitions.length === 6)
    await produce(20_000)
    await until('something is committed', async () => (await committed()) > 0)

    // A second member joins while the first is busy: the group splits the partitions.
    const b = await member()
    await until(
      'the two members split the six partitions',
      () => b.consumer.partitions.length > 0 && a.consumer.partitions.length + b.consumer.partitions.length === 6,
    )
    expect([...a.consumer.partitions, ...b.consumer.partitions].sort()).toEqual([0, 1, 2, 3, 4, 5])
    await produce(20_000)
    await until('the second member stores events', async () => (await b.stored()) > 0)
    expect(await a.stored()).toBeGreaterThan(0)

    // The first leaves while events are still coming in: the second takes its partitions over.
    const leaving = a.consumer.stop()
    await produce(20_000)
    await leaving
    await until('the remaining member holds every partition', () => b.consumer.partitions.length === 6)
    await untilConsumed(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)
    await b.consumer.stop()
    expect(await eventCounts(nudge.store.client, prefix)).toEqual({ rows: produced, ids: produced })
    expect((await a.stored()) + (await b.stored())).toBe(produced)
  })
})

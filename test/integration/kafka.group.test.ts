import { randomUUID } from 'node:crypto'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../core/log.js'
import type { EventConsumer } from '../../ingest/bus/eventConsumer.js'
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
    const member = () =>
      startConsumer(
        config,
        createLogger('error'),
        { kafka },
        { writer: nudge.writer, store: nudge.store, metrics: { registry: new Registry(), rejected: () => undefined } },
      )
    const a: EventConsumer = await member()
    await until('the first member holds every partition', () => a.partitions.length === 6)

    const prefix = `group-${randomUUID().slice(0, 8)}-`
    const total = 40_000
    await produceRaw(
      kafka,
      env.KAFKA_TOPIC,
      Array.from({ length: total }, (_, n) => ({
        key: `group-user-${n % 500}`,
        value: JSON.stringify({ type: 'track', messageId: `${prefix}${n}`, userId: `group-user-${n % 500}`, event: 'Product Viewed' }),
      })),
    )
    await until('something is committed', async () => (await groupProgress(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)).committed > 0)

    const b = await member()
    await until(
      'the two members split the six partitions',
      () => b.partitions.length > 0 && a.partitions.length + b.partitions.length === 6,
    )
    expect([...a.partitions, ...b.partitions].sort()).toEqual([0, 1, 2, 3, 4, 5])

    // The first leaves while events are still coming in: the second takes its partitions over.
    await a.stop()
    await until('the remaining member holds every partition', () => b.partitions.length === 6)
    await untilConsumed(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)
    await b.stop()
    expect(await eventCounts(nudge.store.client, prefix)).toEqual({ rows: total, ids: total })
  })
})

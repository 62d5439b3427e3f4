import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { openStore } from '../../clickhouse/store.js'
import { ADMIN_KEY, ENCRYPTION_KEY, WRITE_KEY, tempDataDir } from '../helpers/harness.js'
import { eventCounts, groupProgress, kafkaTestEnv, produceRaw, testKafka, untilConsumed } from '../helpers/kafkaHelpers.js'

/** `npm run start:consumer` as a child process; resolves its exit. */
function startConsumerChild(env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/consumerMain.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, output: () => out }
}

describe('kill -9 of the consumer mid-batch', () => {
  const data = tempDataDir()
  afterAll(() => data.remove())

  it('after a restart every event is stored exactly once: 0 lost, 0 duplicated', async () => {
    const kafka = testKafka()
    const env = {
      ...kafkaTestEnv(),
      DATA_DIR: data.dir,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `test-${process.pid}`,
      WRITE_KEYS: `web:${WRITE_KEY}`,
      ADMIN_API_KEY: ADMIN_KEY,
      NUDGE_ENCRYPTION_KEY: ENCRYPTION_KEY,
      LOG_LEVEL: 'warn',
      // Small store batches: many commits, so the kill lands between a store and its commit.
      INGEST_MAX_BATCH_ROWS: '2000',
    }
    const prefix = `crash-${randomUUID().slice(0, 8)}-`
    const total = 60_000
    // The topic is created by the first consumer; produce after it exists.
    const first = startConsumerChild(env)
    await untilTopic(kafka, env.KAFKA_TOPIC, first)
    await produceRaw(
      kafka,
      env.KAFKA_TOPIC,
      Array.from({ length: total }, (_, n) => ({
        key: `crash-user-${n % 1000}`,
        value: JSON.stringify({ type: 'track', messageId: `${prefix}${n}`, userId: `crash-user-${n % 1000}`, event: 'Product Viewed' }),
      })),
    )
    // Kill while the next round is in hand: its batches fetched and being stored, none committed.
    const admin = kafka.admin()
    await admin.connect()
    let committedSeen = 0
    try {
      while (committedSeen === 0) {
        if (first.child.exitCode !== null) throw new Error(`the consumer exited: ${first.output()}`)
        const [offsets] = await admin.fetchOffsets({ groupId: env.KAFKA_GROUP_ID, topics: [env.KAFKA_TOPIC] })
        committedSeen = (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
      }
      await new Promise((r) => setTimeout(r, 300))
    } finally {
      first.child.kill('SIGKILL')
      await admin.disconnect()
    }
    await first.exited
    expect(committedSeen).toBeLessThan(total)
    // Between the two runs: nothing is committed that is not stored (a commit follows its store).
    const committedAtKill = (await groupProgress(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)).committed
    const between = await openStore({ dataDir: join(data.dir, 'clickhouse') })
    const storedAtKill = await eventCounts(between.client, prefix).finally(() => between.close())
    expect(storedAtKill.rows).toBe(storedAtKill.ids)
    expect(storedAtKill.rows).toBeGreaterThanOrEqual(committedAtKill)
    console.log(`kill -9: ${storedAtKill.rows} stored, ${committedAtKill} committed (${storedAtKill.rows - committedAtKill} to replay)`)

    const second = startConsumerChild(env)
    await untilConsumed(kafka, env.KAFKA_GROUP_ID, env.KAFKA_TOPIC)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)

    const store = await openStore({ dataDir: join(data.dir, 'clickhouse') })
    try {
      expect(await eventCounts(store.client, prefix)).toEqual({ rows: total, ids: total })
    } finally {
      await store.close()
    }
  })
})

async function untilTopic(kafka: ReturnType<typeof testKafka>, topic: string, c: { child: ChildProcess; output: () => string }) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const deadline = Date.now() + 90_000
    while (!(await admin.listTopics()).includes(topic)) {
      if (c.child.exitCode !== null) throw new Error(`the consumer exited: ${c.output()}`)
      if (Date.now() > deadline) throw new Error(`no topic ${topic} after 90 s: ${c.output()}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  } finally {
    await admin.disconnect()
  }
}

import type { Kafka } from 'kafkajs'

export interface BusProgress {
  /** Messages ever produced to the events topic (its end offsets, summed). */
  produced: number
  /** Of those, how many the group has committed (stored and routed). */
  committed: number
  /** Messages on the dead-letter topic. */
  deadLetters: number
  partitions: number
}

/** Where the consumer group stands on the topic (the demo's summary, the bench's lag check). */
export async function busProgress(kafka: Kafka, s: { topic: string; deadLetterTopic: string; groupId: string }): Promise<BusProgress> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [ends, dead, [group]] = await Promise.all([
      admin.fetchTopicOffsets(s.topic),
      admin.fetchTopicOffsets(s.deadLetterTopic),
      admin.fetchOffsets({ groupId: s.groupId, topics: [s.topic] }),
    ])
    const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0)
    return {
      produced: sum(ends, (p) => Number(p.high)),
      committed: sum(group?.partitions ?? [], (p) => Math.max(0, Number(p.offset))),
      deadLetters: sum(dead, (p) => Number(p.high) - Number(p.low)),
      partitions: ends.length,
    }
  } finally {
    await admin.disconnect()
  }
}

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
    const sum = (xs: { high: string; low: string }[]) => xs.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
    const committed = (group?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0)
    const produced = ends.reduce((n, p) => n + Number(p.high), 0)
    return { produced, committed, deadLetters: sum(dead), partitions: ends.length }
  } finally {
    await admin.disconnect()
  }
}

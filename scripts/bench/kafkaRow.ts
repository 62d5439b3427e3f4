import type { ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { busProgress } from '../../ingest/bus/busProgress.js'
import { createKafka } from '../../ingest/bus/kafkaClient.js'
import { startKafkaBroker } from '../../runtime/kafka/kafkaBroker.js'
import { ensureKafkaClasspath } from '../../runtime/kafka/kafkaDist.js'
import { startChild } from '../benchChild.js'
import { check, fmt } from './report.js'

/** What the bench's closed loop needs (bench-ingest.ts's Load). */
export interface KafkaLoad {
  agent: Agent
  target: URL
  next: () => number
  acked: { events: number }
}

export interface KafkaBenchDeps {
  /** The bench's closed loop (the same one the direct row ran). */
  saturate(load: KafkaLoad): Promise<{ events: number; elapsed: number; statuses: Record<number, number> }>
  /** The bench's open loop at `rate` requests/s (the same one the direct row ran). */
  paced(load: KafkaLoad, rate: number, seconds: number): Promise<{ latencies: number[]; statuses: Record<number, number> }>
  /** Stops the child (flush, drain) and counts its rows. */
  storedCounts(child: ChildProcess, dataDir: string): Promise<{ stored: number; unique: number }>
  clients: number
  firstRequest: number
}

const SAMPLE_MS = 100
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 15)
const TOPIC = 'nudge.events'
const settings = { topic: TOPIC, deadLetterTopic: 'nudge.events.dlq', groupId: 'nudge-ingest' }

/**
 * BENCH_KAFKA=1: the same closed loop against `npm start` with INGEST_MODE=kafka (the API
 * acknowledges once the event is on the topic; the in-process consumer stores). A broker of the
 * bench's own runs beside it, so the bench can watch the group's committed offsets: the
 * end-to-end lag is from an offset's appearing on the topic to the group committing past it
 * (stored, deduped and routed), sampled every SAMPLE_MS.
 */
export async function kafkaRow(deps: KafkaBenchDeps, directEventsPerSec: number): Promise<{ lines: string[]; summary: string[] }> {
  const broker = await startKafkaBroker({ classpath: ensureKafkaClasspath() })
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'nudge-bench-kafka-'))
    const env = { INGEST_MODE: 'kafka', KAFKA_BROKERS: broker.brokers, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' }
    const { child, url } = await startChild(dataDir, env)
    let reqNo = deps.firstRequest
    const load = {
      agent: new Agent({ keepAlive: true, maxSockets: deps.clients }),
      target: new URL(url),
      next: () => reqNo++,
      acked: { events: 0 },
    }
    const watch = watchBus(createKafka({ brokers: [broker.brokers], clientId: 'nudge-bench' }))
    const started = performance.now()
    const sat = await deps.saturate(load)
    const drainedAt = await watch.drained(load.acked.events)
    const throughPerSec = load.acked.events / ((drainedAt - started) / 1000)
    // The lag a user sees: an open loop at half the end-to-end rate, so the consumer keeps up
    // (at saturation the lag only measures the backlog the closed loop piles up).
    const rate = Math.max(1, Math.floor(throughPerSec / 100 / 2))
    const from = watch.samples.length
    const below = await deps.paced(load, rate, PACED_SECONDS)
    await watch.drained(load.acked.events)
    watch.stop()
    load.agent.destroy()
    const counts = await deps.storedCounts(child, dataDir)
    return figures({
      sat,
      acked: load.acked.events,
      counts,
      throughPerSec,
      throughSeconds: (drainedAt - started) / 1000,
      paced: { rate: rate * 100, statuses: below.statuses, lags: lagsOf(watch.samples.slice(Math.max(0, from - 1))) },
      directEventsPerSec,
    })
  } finally {
    await broker.stop()
  }
}

/** The group's progress every SAMPLE_MS, in the background; `drained` waits until it has committed `events`. */
function watchBus(kafka: ReturnType<typeof createKafka>) {
  const samples: Sample[] = []
  let sampling = true
  const loop = (async () => {
    while (sampling) {
      const p = await busProgress(kafka, settings).catch(() => undefined)
      if (p) samples.push({ t: performance.now(), produced: p.produced, committed: p.committed })
      await new Promise((r) => setTimeout(r, SAMPLE_MS))
    }
  })()
  return {
    samples,
    async drained(events: number): Promise<number> {
      const deadline = performance.now() + 300_000
      while (performance.now() < deadline && !((samples.at(-1)?.committed ?? 0) >= events))
        await new Promise((r) => setTimeout(r, SAMPLE_MS))
      return samples.at(-1)?.t ?? performance.now()
    },
    stop: () => {
      sampling = false
      return loop
    },
  }
}

type Sample = { t: number; produced: number; committed: number }

/** For each sample where new offsets appeared: how long until the group committed past them (weighted by how many). */
function lagsOf(samples: Sample[]): { ms: number; weight: number }[] {
  const lags: { ms: number; weight: number }[] = []
  let j = 0
  for (let i = 1; i < samples.length; i++) {
    const added = samples[i]!.produced - samples[i - 1]!.produced
    if (added <= 0) continue
    j = Math.max(j, i)
    while (j < samples.length && samples[j]!.committed < samples[i]!.produced) j++
    if (j < samples.length) lags.push({ ms: samples[j]!.t - samples[i]!.t, weight: added })
  }
  return lags
}

function weightedPercentile(values: { ms: number; weight: number }[], p: number): number {
  const sorted = [...values].sort((a, b) => a.ms - b.ms)
  const total = sorted.reduce((n, v) => n + v.weight, 0)
  let seen = 0
  for (const v of sorted) if ((seen += v.weight) >= p * total) return v.ms
  return Number.NaN
}

function figures(f: {
  sat: { events: number; elapsed: number; statuses: Record<number, number> }
  acked: number
  counts: { stored: number; unique: number }
  throughPerSec: number
  throughSeconds: number
  paced: { rate: number; statuses: Record<number, number>; lags: { ms: number; weight: number }[] }
  directEventsPerSec: number
}): { lines: string[]; summary: string[] } {
  const ackedPerSec = f.sat.events / f.sat.elapsed
  const p50 = weightedPercentile(f.paced.lags, 0.5)
  const p99 = weightedPercentile(f.paced.lags, 0.99)
  const exact = f.counts.stored === f.acked && f.counts.unique === f.counts.stored
  return {
    lines: [
      `Kafka         ${fmt(ackedPerSec)} events/s acknowledged (HTTP → Kafka) over ${fmt(f.sat.elapsed, 1)} s   statuses ${JSON.stringify(f.sat.statuses)}`,
      `              ${fmt(f.throughPerSec)} events/s stored end to end (HTTP → Kafka → ClickHouse: first request to last commit ${fmt(f.throughSeconds, 1)} s)`,
      `Kafka lag     at ${fmt(f.paced.rate)} events/s open loop for ${PACED_SECONDS} s, on the topic → stored, routed and committed: p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms (sampled every ${SAMPLE_MS} ms)   statuses ${JSON.stringify(f.paced.statuses)}`,
      `Kafka stored  ${fmt(f.counts.stored)} rows, ${fmt(f.counts.unique)} unique, acknowledged ${fmt(f.acked)} (both phases) → ${exact ? 'none lost, none doubled' : 'MISMATCH'}`,
    ],
    summary: [
      `HTTP → Kafka → ClickHouse: ${fmt(f.throughPerSec)} events/s end to end (acknowledged ${fmt(ackedPerSec)} events/s; HTTP direct in this run: ${fmt(f.directEventsPerSec)} events/s), end-to-end lag p99 ${fmt(p99)} ms at ${fmt(f.paced.rate)} events/s`,
      `acknowledged events stored exactly once through Kafka: ${fmt(f.counts.stored)} of ${fmt(f.acked)}   (target none lost, none doubled: ${check(exact)})`,
    ],
  }
}

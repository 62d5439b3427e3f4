import type { TestProject } from 'vitest/node'
import { freePort } from '../../runtime/freePort.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import { type DevServer, startDevServer } from '../../runtime/temporal/temporalDevServer.js'
import { KafkaUnavailable, ensureKafkaClasspath } from '../../runtime/kafka/kafkaDist.js'
import { type KafkaBroker, startKafkaBroker } from '../../runtime/kafka/kafkaBroker.js'

/** One real Temporal dev server (in memory, headless) and one Kafka broker for the whole test run. */
let server: DevServer | undefined
let broker: KafkaBroker | undefined

export async function setup(project: TestProject) {
  const cliPath = await ensureTemporalCli()
  // Both start at once: the broker's JVM boots while the dev server does.
  const kafka = startKafka()
  // Runs are told to continue as new after 200 history events (production: thousands), so the
  // tests exercise it.
  const temporal = startDevServer({
    cliPath,
    port: await freePort(),
    readyTimeoutMs: 90_000,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 },
  })
  const [t, k] = await Promise.allSettled([temporal, kafka])
  if (t.status === 'fulfilled') server = t.value
  if (k.status === 'fulfilled') broker = k.value
  // No Kafka here (no Java or Maven): every other test still runs; the Kafka tests fail with what to do.
  const kafkaMissing = k.status === 'rejected' && k.reason instanceof KafkaUnavailable ? k.reason.message : ''
  if (kafkaMissing) process.stderr.write(`\nKafka tests cannot run: ${kafkaMissing}\n\n`)
  if (t.status === 'rejected' || (k.status === 'rejected' && !kafkaMissing)) {
    await teardown()
    throw t.status === 'rejected' ? t.reason : (k as PromiseRejectedResult).reason
  }
  project.provide('temporalAddress', server!.address)
  project.provide('kafkaBrokers', process.env.KAFKA_BROKERS ?? broker?.brokers ?? '')
  project.provide('kafkaUnavailable', kafkaMissing)
}

/**
 * A broker for this run: none with KAFKA_BROKERS (your own cluster), none when the run names only
 * test files that do not use Kafka (a JVM booting beside a unit test costs seconds of CPU on two cores).
 * Provisioning (once per machine) or start failures throw with what to do.
 */
async function startKafka(): Promise<KafkaBroker | undefined> {
  if (process.env.KAFKA_BROKERS || !runUsesKafka(process.argv.slice(2))) return undefined
  const classpath = ensureKafkaClasspath()
  return startKafkaBroker({ classpath, readyTimeoutMs: 90_000 })
}

/** Whether this vitest run may include a Kafka test: no file filter, or a filter naming one. */
function runUsesKafka(args: string[]): boolean {
  const filters: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-t' || a === '--testNamePattern' || a === '--project' || a === '--config' || a === '-c') i++
    else if (!a.startsWith('-') && a !== 'run' && a !== 'watch') filters.push(a)
  }
  return filters.length === 0 || filters.some((f) => /kafka|bench|demo/i.test(f))
}

export async function teardown() {
  await Promise.all([server?.stop(), broker?.stop()])
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string
    /** host:port of the run's Kafka broker; empty when the run starts none (see startKafka). */
    kafkaBrokers: string
    /** Why this run has no broker (no Java or Maven, and what to do), when provisioning failed. */
    kafkaUnavailable: string
  }
}

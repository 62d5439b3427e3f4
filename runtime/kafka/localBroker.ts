import type { Config } from '../config.js'
import type { ShutdownStep } from '../shutdownPlan.js'
import { type KafkaBroker, startKafkaBroker } from './kafkaBroker.js'
import { ensureKafkaClasspath } from './kafkaDist.js'

/**
 * `npm start` / `npm run demo` with INGEST_MODE=kafka and no KAFKA_BROKERS: a single-node broker
 * of this process's own (like the Temporal dev server), its address put into the config. With
 * KAFKA_BROKERS set, nothing is started: that is the user's cluster.
 */
export async function startLocalBroker(config: Config, log: (line: string) => void): Promise<KafkaBroker | undefined> {
  if (config.INGEST_MODE !== 'kafka' || config.KAFKA_BROKERS?.length) return undefined
  const broker = await startKafkaBroker({ classpath: ensureKafkaClasspath(log), readyTimeoutMs: 90_000 })
  config.KAFKA_BROKERS = [broker.brokers]
  return broker
}

/** After Nudge's own steps (the consumer has committed and left): the broker goes. */
export function brokerSteps(broker: KafkaBroker | undefined): ShutdownStep[] {
  return broker ? [{ name: 'stop the Kafka broker', timeoutMs: 20_000, run: broker.stop }] : []
}

import { createLogger } from '../core/log.js'
import { startNudge } from './nudge.js'
import { configOrExit, stopOnSignals } from './processLifecycle.js'

/**
 * `npm run start:consumer`: one member of the ingest consumer group (INGEST_MODE=kafka). It stores
 * what the API replicas (or any other producer) put on KAFKA_TOPIC, dedupes it, feeds segments and
 * routes journeys; run as many as the topic has partitions. No HTTP listener and no worker. The
 * embedded store works when this is the only process on DATA_DIR; with several, use CLICKHOUSE_URL.
 */
async function main(): Promise<void> {
  const config = configOrExit((c) => [
    ...(c.INGEST_MODE === 'kafka' ? [] : ['INGEST_MODE: must be `kafka` for a consumer process']),
    ...(c.KAFKA_BROKERS?.length ? [] : ['KAFKA_BROKERS: required for a consumer process (host:port of your Kafka brokers)']),
    ...(c.TEMPORAL_ADDRESS ? [] : ['TEMPORAL_ADDRESS: required for a consumer process (it routes journeys)']),
  ])
  const log = createLogger(config.LOG_LEVEL)
  const nudge = await startNudge({ config, role: 'api', http: false, consume: true, temporalAddress: config.TEMPORAL_ADDRESS!, log })
  log.info('Kafka consumer running', { topic: config.KAFKA_TOPIC, group: config.KAFKA_GROUP_ID, store: nudge.store.describe })
  stopOnSignals(nudge.stop, log)
}

main().catch((err) => {
  process.stderr.write(`Nudge consumer failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})

import type { Client } from '@temporalio/client'
import { parseDuration } from '../core/duration.js'
import type { Logger } from '../core/log.js'
import { type DestinationsAdmin, destinationsAdmin } from '../destinations/destinationAdmin.js'
import type { DestinationDefinition } from '../destinations/destinationSchema.js'
import { DestinationService } from '../destinations/destinationStore.js'
import { Deliverer } from '../destinations/deliverer.js'
import { sendErasures } from '../destinations/erasureCalls.js'
import { Feeder } from '../destinations/feeder.js'
import { KafkaProducers } from '../destinations/senders/kafkaProducers.js'
import { type SenderContext, senderFor } from '../destinations/senders/senderFor.js'
import { createDestinationActivities, type DestinationActivities } from '../workflows/activities/destinationActivities.js'
import { Dispatcher } from '../workflows/destinations/dispatcher.js'
import type { Config } from './config.js'
import type { DataParts } from './dataWiring.js'
import { createDestinationMetrics, type DestinationMetrics } from './destinationMetrics.js'
import type { Role } from './role.js'

export interface Destinations {
  admin: DestinationsAdmin
  /** Registered with the worker (roles `all` and `worker`). */
  activities?: DestinationActivities
  dispatcher?: Dispatcher
  stop(): Promise<void>
}

/**
 * Destinations: definitions (every role: the API edits them, the worker delivers), the erasure
 * hook, and — where the worker runs — the delivery side: the outbox feeder and dispatcher loop
 * and the batch activities. Consent and erasure are asked of the process's own state.
 */
export async function startDestinations(
  config: Config,
  role: Role,
  log: Logger,
  x: { data: DataParts; temporal: Client },
): Promise<Destinations> {
  const { data } = x
  const client = data.store.client
  const service = new DestinationService(client, data.cipher, log.warn)
  await service.store.load()
  service.store.start(parseDuration(config.DESTINATIONS_POLL)!)
  const metrics = createDestinationMetrics(data.metrics.registry)
  const all = () => service.list().map((s) => s.definition)
  // Connected on first use: a process with no Kafka destination never opens a connection.
  const producers = new KafkaProducers(`${config.KAFKA_CLIENT_ID}-destinations`, log.warn)
  const senders: SenderContext = { kafka: { producers, brokers: config.KAFKA_BROKERS ?? [] } }
  registerErasure(data, { all, senders }, metrics, log)
  if (role === 'api')
    return {
      admin: destinationsAdmin(client, service, undefined, data.cluster),
      async stop() {
        service.store.stop()
        await producers.close()
      },
    }

  const deliverable = (d: DestinationDefinition | undefined): d is DestinationDefinition => !!d && d.enabled && !!senderFor(d, senders)
  const erased = (userKey: string) => data.tombstones.erasedAt('user', userKey) !== undefined
  const mayLeave = (userKey: string, d: DestinationDefinition) =>
    !erased(userKey) && d.consentTopics.every((t) => data.consent.isGranted(userKey, t))
  const deliverer = new Deliverer({
    client,
    destination: (id) => service.store.get(id)?.definition,
    mayLeave,
    erased,
    senders,
    onDelivered: (id, n, lags) => (metrics.records(id, 'delivered', n), metrics.delivered(id, lags)),
    onDead: (id, n) => metrics.records(id, 'dead_lettered', n),
    onRetry: (id) => metrics.retried(id),
    onWithheld: (id, n) => metrics.records(id, 'withheld', n),
  })
  const feeder = new Feeder({
    client,
    destinations: () => all().filter(deliverable),
    mayLeave,
    traitsOf: async (userKey) => (await data.segments.profileOf(userKey)).computed,
    onEnqueued: (id, n) => metrics.records(id, 'enqueued', n),
    onWithheld: (id, n) => metrics.records(id, 'withheld', n),
  })
  const dispatcher = new Dispatcher({
    client: x.temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    feeder,
    outbox: deliverer.outbox,
    deliverable: (id) => deliverable(service.store.get(id)?.definition),
    any: () => service.store.entries.size > 0,
    retryInitialMs: parseDuration(config.DESTINATIONS_RETRY_INITIAL)!,
    onLag: (id, ms) => metrics.lag(id, ms),
    log: log.warn,
  })
  dispatcher.follow(parseDuration(config.DESTINATIONS_POLL)!)
  return {
    admin: destinationsAdmin(client, service, (id) => dispatcher.start(id), data.cluster),
    activities: createDestinationActivities(deliverer),
    dispatcher,
    async stop() {
      service.store.stop()
      await dispatcher.stop()
      // After the dispatcher: a batch still sending keeps its producer until it ends.
      await producers.close()
    },
  }
}

function registerErasure(
  data: DataParts,
  d: { all: () => DestinationDefinition[]; senders: SenderContext },
  metrics: DestinationMetrics,
  log: Logger,
): void {
  data.erasure.register({
    name: 'destination delete calls',
    eraseUser: (s) =>
      sendErasures(
        {
          destinations: d.all,
          senders: d.senders,
          onResult: (id, ok, reason) => {
            metrics.erasure(id, ok ? 'ok' : 'failed')
            if (!ok) log.warn('a destination did not confirm an erasure', { destination: id, reason })
          },
        },
        s.keys,
      ),
    // Nothing of a person is held in memory here: the outbox rows go with the erased tables.
    knows: () => false,
  })
}

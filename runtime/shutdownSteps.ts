import type { Server } from 'node:http'
import type { Logger } from '../core/log.js'
import type { Store } from '../clickhouse/store.js'
import type { FalseTriggerMonitor } from '../analytics/reports/falseTriggerMonitor.js'
import type { RecommendationService } from '../content/recommendations/service.js'
import type { DataParts } from './dataWiring.js'
import { HTTP_CLOSE_MS, closeServer } from './httpWiring.js'
import type { Journeys } from './journeysWiring.js'
import type { ShutdownStep } from './shutdownPlan.js'
import type { TemporalConnections } from './temporalWiring.js'
import { WORKER_FORCE_AFTER_GRACE_MS, type RunningWorker } from './workerWiring.js'

/** How long a stop lets queued run starts go on before leaving them to the next start. */
const ROUTE_GRACE_MS = 2000

export interface StoppableParts {
  data: DataParts
  journeys: Journeys
  temporal: TemporalConnections
  recsStore: Store
  recommendations: RecommendationService
  recsLoaded: Promise<void>
  falseTriggers: FalseTriggerMonitor
  consentRefresh?: NodeJS.Timeout
  worker?: RunningWorker
  server?: Server
  graceMs: number
  log: Logger
}

/**
 * The shutdown plan: one ordered list (see runShutdownPlan). What a step closes, no earlier step
 * needs: send activities use the writer, the stores, the mail transport, segments and the
 * Temporal connections, so all of those stay open until the worker has drained.
 */
export function shutdownSteps(p: StoppableParts): ShutdownStep[] {
  const { data, journeys } = p
  return [
    { name: 'stop accepting HTTP requests', timeoutMs: HTTP_CLOSE_MS + 2000, run: () => closeServer(p.server) },
    { name: 'store accepted events', timeoutMs: 10_000, run: () => data.writer.drain() },
    { name: 'stop routing', timeoutMs: ROUTE_GRACE_MS + 1000, run: () => stopRouting(p) },
    {
      name: 'drain the worker (in-flight sends finish)',
      timeoutMs: p.graceMs + WORKER_FORCE_AFTER_GRACE_MS + 2000,
      run: () => p.worker?.drain(),
    },
    {
      // Run starts made before routing stopped have finished during the drain.
      name: 'store what the last sends wrote',
      timeoutMs: 10_000,
      run: async () => {
        await journeys.router?.idle()
        await journeys.settleWrites()
        // Closing the writer stores what activities ingested (traits, outcomes as events);
        // segments see it; routing progress is saved before it (routed after a restart).
        await data.writer.close()
        await data.segments.stop()
        await journeys.settleRouting()
      },
    },
    { name: 'stop background work', timeoutMs: 10_000, run: () => stopBackground(p) },
    { name: 'close the mail transport and capture mailbox', timeoutMs: 5000, run: () => journeys.closeDelivery() },
    {
      name: 'close Temporal connections',
      timeoutMs: 5000,
      run: async () => {
        await p.temporal.nativeConnection?.close()
        await p.temporal.connection.close()
      },
    },
    {
      name: 'close stores',
      timeoutMs: 10_000,
      run: async () => {
        await journeys.closeStores()
        await p.recsStore.close()
        if (data.previewStore !== data.segmentStore) await data.previewStore.close()
        if (data.segmentStore !== data.store) await data.segmentStore.close()
        await data.store.close()
      },
    },
  ]
}

async function stopRouting(p: StoppableParts): Promise<void> {
  const router = p.journeys.router
  if (!router) return
  // Runs for stored triggers (and the segment entries they cause) start while there is time; the
  // rest of the stored triggers are routed again from the store after a restart (routing
  // progress stays before them). Calls already made finish while the worker drains.
  await Promise.race([p.data.segments.idle().then(() => router.idle()), new Promise((r) => setTimeout(r, ROUTE_GRACE_MS).unref())])
  const left = router.stop()
  if (left) p.log.info('routing stopped; the rest is routed again after a restart', { left })
}

async function stopBackground(p: StoppableParts): Promise<void> {
  const { data } = p
  clearInterval(p.consentRefresh)
  data.tombstones.stop()
  clearInterval(data.memoryLog)
  p.journeys.stopPolling()
  data.flags.stop()
  await data.experiments.stop()
  await p.falseTriggers.stop()
  await p.recsLoaded
  await p.recommendations.stop()
}

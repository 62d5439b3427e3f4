import type { ClickHouseClient } from '@clickhouse/client'
import { parseDuration } from '../core/duration.js'
import type { JourneyService } from '../journeys/journeyService.js'
import { RoutingProgress } from '../journeys/routingProgress.js'
import { TriggerRouter } from '../journeys/triggerRouter.js'
import { type JourneyRuns, runId } from '../workflows/client/journeyRuns.js'
import { reconcileSchedules } from '../workflows/client/journeySchedules.js'
import type { JourneyDepsIn } from './journeyDeps.js'

/**
 * Trigger routing (processes that ingest): the router starts, signals and ends runs for stored
 * events and segment transitions; schedule-triggered journeys get one Temporal Schedule each;
 * how far routing got is saved, so a restart routes the rest.
 */
export async function startRouting(
  d: JourneyDepsIn,
  x: { journeys: JourneyService; runs: JourneyRuns; testUsers: ReadonlySet<string>; client: ClickHouseClient },
): Promise<{ router: TriggerRouter; progress: RoutingProgress }> {
  const { config } = d
  const router = new TriggerRouter({
    runs: x.runs,
    journeys: () => x.journeys.list(),
    runId,
    isGranted: (u, topic) => d.consent.isGranted(u, topic),
    isTestUser: (u) => x.testUsers.has(u),
    isErased: (u, at) => d.tombstones.isLate([u], at),
    maxTriggerAgeMs: parseDuration(config.STALE_TRIGGER_MAX_AGE)!,
    log: d.log,
  })
  x.journeys.onChange(() => router.reindex())
  let reconciling = Promise.resolve()
  const reconcile = (): Promise<void> =>
    (reconciling = reconciling
      .then(() => reconcileSchedules(d.temporal, config.TEMPORAL_TASK_QUEUE, x.journeys.list()))
      .catch((err) => {
        // Temporal busy or briefly away: try again shortly (the reconcile is idempotent).
        d.log('journey schedules not reconciled; retrying', { err: String(err) })
        setTimeout(() => void reconcile(), 1000).unref()
      }))
  x.journeys.onChange(() => void reconcile())
  await reconcile()
  const progress = new RoutingProgress(x.client, router, d.log)
  await progress.resume(d.storedSeq?.() ?? 0)
  progress.start()
  d.segments.onTransition((t) => router.handleTransitions([t]))
  return { router, progress }
}

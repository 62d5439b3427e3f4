import type { NativeConnection, Worker } from '@temporalio/worker'
import type { ClickHouseClient } from '@clickhouse/client'
import { createActivities } from '../workflows/activities/healthcheckActivities.js'
import { createWorker } from '../workflows/worker/worker.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import type { Journeys } from './journeysWiring.js'

/** The worker is forced down this long after its grace period (activities that ignored cancellation). */
export const WORKER_FORCE_AFTER_GRACE_MS = 2000

export interface RunningWorker {
  worker: Worker
  /** Shuts the worker down and waits for in-flight activities; rejects if it stopped with an error. */
  drain(): Promise<void>
}

/** The Temporal worker (roles `all` and `worker`): journey and housekeeping activities. */
export async function startWorker(
  config: Config,
  log: Logger,
  x: { nativeConnection: NativeConnection; client: ClickHouseClient; journeys: Journeys; graceMs: number; destinations?: object },
): Promise<RunningWorker> {
  const { graceMs } = x
  const worker = await createWorker({
    connection: x.nativeConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: { ...createActivities({ client: x.client }), ...x.journeys.activities!, ...x.destinations },
    shutdownGraceMs: graceMs,
    shutdownForceMs: graceMs + WORKER_FORCE_AFTER_GRACE_MS,
    maxCachedWorkflows: config.TEMPORAL_MAX_CACHED_WORKFLOWS,
  })
  let workerError: unknown
  const workerRun = worker.run().catch((err) => {
    workerError = err
    log.error('worker stopped with an error', { err: String(err) })
  })
  log.info('worker running', { taskQueue: config.TEMPORAL_TASK_QUEUE })
  const drain = async (): Promise<void> => {
    const t0 = Date.now()
    if (worker.getState() === 'RUNNING') worker.shutdown()
    await workerRun
    if (!workerError) return
    const why = workerError instanceof Error ? workerError.message : String(workerError)
    // Past the force time the SDK gives up on activities that ignored cancellation: their runs
    // retry them after a restart (a send by its message id, which the ESP dedupes).
    throw new Error(
      Date.now() - t0 >= graceMs + WORKER_FORCE_AFTER_GRACE_MS
        ? `not drained within SHUTDOWN_GRACE + ${WORKER_FORCE_AFTER_GRACE_MS} ms (${why})`
        : why,
    )
  }
  return { worker, drain }
}

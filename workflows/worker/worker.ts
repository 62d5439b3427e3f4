import { type NativeConnection, Worker } from '@temporalio/worker'
import type { Activities } from '../activities/healthcheckActivities.js'
import type { JourneyActivities } from '../activities/journeyActivities.js'
import { failPermanentlyOnBadInput } from '../activities/permanentFailures.js'
import { workflowBundlePath } from './bundleCache.js'

export interface WorkerOptions {
  connection: NativeConnection
  namespace: string
  taskQueue: string
  activities: Activities & Partial<JourneyActivities>
  /** After shutdown() is asked: in-flight activities get this long, then are cancelled. */
  shutdownGraceMs?: number
  /** …and past this the worker stops regardless (run() rejects). */
  shutdownForceMs?: number
  /** Runs kept in memory between activations (bounds the worker's memory); default: the SDK's. */
  maxCachedWorkflows?: number
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: { codePath: await workflowBundlePath() },
    // Input errors are final: no activity retries what it refused (see permanentFailures.ts).
    activities: failPermanentlyOnBadInput(opts.activities),
    // Sends and record writes are local activities: a workflow task stays open while one runs
    // (tens to hundreds of ms, waiting on the store and SMTP, not on CPU), so many are in flight.
    maxConcurrentWorkflowTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 400,
    ...(opts.shutdownGraceMs !== undefined ? { shutdownGraceTime: opts.shutdownGraceMs } : {}),
    ...(opts.shutdownForceMs !== undefined ? { shutdownForceTime: opts.shutdownForceMs } : {}),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
  })
}

import { createRequire } from 'node:module'
import { type NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker'
import type { Activities } from './activities/index.js'

const require = createRequire(import.meta.url)
export const WORKFLOWS_PATH = require.resolve('./index.ts')

let bundlePromise: Promise<{ code: string }> | undefined

/** Bundling takes seconds; do it once per process however many workers are created. */
export function workflowBundle(): Promise<{ code: string }> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger })
  return bundlePromise
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => process.stderr.write(`[bundler] ${m}\n`),
  error: (m: string) => process.stderr.write(`[bundler] ${m}\n`),
}

export interface WorkerOptions {
  connection: NativeConnection
  namespace: string
  taskQueue: string
  activities: Activities
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: opts.activities,
  })
}

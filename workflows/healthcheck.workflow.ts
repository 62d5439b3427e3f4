import { proxyActivities } from '@temporalio/workflow'
import type { Activities } from './activities/index.js'

const { storeVersion } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' })

/**
 * A round trip through every moving part — server, worker, activity, store — used by the
 * readiness check's first run and by the smoke test.
 */
export async function healthcheckWorkflow(label: string): Promise<{ label: string; store: string }> {
  return { label, store: await storeVersion() }
}

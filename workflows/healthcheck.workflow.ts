import { proxyActivities } from '@temporalio/workflow'
import type { Activities } from './activities/healthcheckActivities.js'
import { RETRY_POLICIES } from './retryPolicies.js'

const { storeVersion } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY_POLICIES.healthcheck })

/**
 * A round trip through every moving part — server, worker, activity, store — used by the
 * readiness check's first run and by the smoke test.
 */
export async function healthcheckWorkflow(label: string): Promise<{ label: string; store: string }> {
  return { label, store: await storeVersion() }
}

/**
 * Does nothing: the benchmark times it to show what the Temporal server and worker alone cost on
 * a machine (the floor under every journey's latency).
 */
export async function noopWorkflow(): Promise<void> {}

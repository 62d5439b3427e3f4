import { proxyLocalActivities } from '@temporalio/workflow'
import type { JourneyActivities } from '../activities/journeyActivities.js'
import { RETRY_POLICIES } from '../retryPolicies.js'

// Every activity retries a bounded number of times and never on bad input (retryPolicies.ts);
// one that still fails ends the run `failed:<step type>:<error type>` (cannotProceed.ts).
export const local = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '30 seconds', retry: RETRY_POLICIES.step })
// A send is a local activity too: it takes milliseconds, and skipping the activity task queue
// halves the server's work per send. After a crash it runs again (the ledger keeps it once).
export const { deliver } = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '15 seconds', retry: RETRY_POLICIES.send })

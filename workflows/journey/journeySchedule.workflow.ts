import { proxyActivities, workflowInfo } from '@temporalio/workflow'
import type { JourneyActivities } from '../activities/journeyActivities.js'
import { RETRY_POLICIES } from '../retryPolicies.js'

const { fanOutSchedule } = proxyActivities<JourneyActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: RETRY_POLICIES.fanOut,
})

/**
 * What a schedule-triggered journey's Temporal Schedule starts each interval: every member of
 * the journey's segment enters. The slot (this run's start) names each entry, so a retried
 * fan-out never starts anyone twice for the same slot.
 */
export async function journeyScheduleWorkflow(journeyId: string): Promise<number> {
  return fanOutSchedule({ journeyId, slot: workflowInfo().runStartTime.getTime() })
}

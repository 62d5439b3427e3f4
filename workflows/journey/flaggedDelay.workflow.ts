import { proxyLocalActivities, sleep, workflowInfo } from '@temporalio/workflow'
import type { FlagUse, JourneyActivities } from '../activities/journeyActivities.js'
import { showFlagUse } from './showFlagUse.js'

const { resolveDelay } = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 5 } })

/** One flagged wait (the journey delay step's activity), as a run of its own. */
export async function flaggedDelayWorkflow(flag: string, unit: string, defaultMs: number): Promise<FlagUse> {
  const { ms, flag: use } = await resolveDelay({
    step: { id: 'delay', type: 'delay', flag: { key: flag, default: defaultMs } },
    userKey: unit,
  })
  showFlagUse((workflowInfo().memo?.flags as Record<string, FlagUse> | undefined) ?? {}, use!)
  await sleep(ms)
  return use!
}

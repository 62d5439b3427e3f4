import { proxyLocalActivities, sleep, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow'
import type { FlagUse, JourneyActivities } from '../activities/journeyActivities.js'

const { resolveDelay } = proxyLocalActivities<JourneyActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 5 } })

/**
 * Workflow code: puts what a run used of a flag on the run — in its memo under `flags`, and, when
 * an experiment decided the value, as the `ExperimentKey` / `Variant` search attributes, so the
 * Temporal UI can list the runs of each arm. Returns the run's flags with this one added.
 */
export function showFlagUse(flags: Record<string, FlagUse>, use: FlagUse): Record<string, FlagUse> {
  const next = { ...flags, [use.flag]: use }
  upsertMemo({ flags: next })
  if (use.experimentKey && use.variant) upsertSearchAttributes({ ExperimentKey: [use.experimentKey], Variant: [use.variant] })
  return next
}

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

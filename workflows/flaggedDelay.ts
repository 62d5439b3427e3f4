import { proxyActivities, sleep, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow'
import type { Activities, FlagUse } from './activities/index.js'

const { resolveDuration } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 5 } })

/**
 * Workflow code: a delay whose length comes from a duration flag (often set by a timing
 * experiment). What the run used — value, reason, variant — goes on the run: in its memo under
 * `flags`, and, when an experiment decided it, as the `ExperimentKey` / `Variant` search
 * attributes, so the Temporal UI can list the runs of each arm.
 */
export async function flaggedDelay(flag: string, unit: string, defaultMs: number, context: Record<string, unknown> = {}): Promise<FlagUse> {
  const use = await resolveDuration(flag, unit, defaultMs, context)
  const flags = { ...((workflowInfo().memo?.flags as Record<string, FlagUse> | undefined) ?? {}), [flag]: use }
  upsertMemo({ flags })
  if (use.experimentKey && use.variant) upsertSearchAttributes({ ExperimentKey: [use.experimentKey], Variant: [use.variant] })
  await sleep(use.value)
  return use
}

/** One flagged wait, as a run of its own: what journeys' delay steps do, testable on its own. */
export async function flaggedDelayWorkflow(flag: string, unit: string, defaultMs: number): Promise<FlagUse> {
  return flaggedDelay(flag, unit, defaultMs)
}

import { upsertMemo, upsertSearchAttributes } from '@temporalio/workflow'
import type { FlagUse } from '../activities/journeyActivities.js'

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

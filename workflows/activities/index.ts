import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../analytics/store.js'
import type { FlagService } from '../../experiments/flags/flagService.js'

/** Activities get their adapters injected, so tests run them against a real temp store. */
export interface ActivityDeps {
  client: ClickHouseClient
  flags: FlagService
}

/** What a run asked a flag and got: kept on the run (memo, search attributes) and in its history. */
export interface FlagUse {
  flag: string
  value: number
  reason: string
  variant?: string
  experimentKey?: string
}

export function createActivities(deps: ActivityDeps) {
  return {
    /**
     * A duration flag for a unit (e.g. `cart_abandonment.reminder_delay`), in milliseconds. An
     * activity, not workflow code: evaluation reads live state, and its result must be recorded
     * in the history so a replay waits exactly as the first run did.
     */
    async resolveDuration(flag: string, unit: string, defaultMs: number, context: Record<string, unknown> = {}): Promise<FlagUse> {
      const d = deps.flags.evaluate(flag, 'number', defaultMs, { ...context, targetingKey: unit })
      const experimentKey = d.flagMetadata?.experimentKey
      return { flag, value: d.value, reason: d.errorCode ? `${d.reason}:${d.errorCode}` : d.reason, ...(d.variant ? { variant: d.variant } : {}), ...(typeof experimentKey === 'string' ? { experimentKey } : {}) }
    },

    async storeVersion(): Promise<string> {
      const [row] = await selectRows<{ v: string }>(deps.client, 'SELECT version() AS v')
      return row?.v ?? 'unknown'
    },
  }
}

export type Activities = ReturnType<typeof createActivities>

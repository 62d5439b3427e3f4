import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../analytics/store.js'
import type { FlagService } from '../../experiments/flags/flagService.js'
import { type FlagUse, flagUse } from './journeyActivities.js'

/** Activities get their adapters injected, so tests run them against a real temp store. */
export interface ActivityDeps {
  client: ClickHouseClient
  flags: FlagService
}

export type { FlagUse }

export function createActivities(deps: ActivityDeps) {
  return {
    /**
     * A duration flag for a unit (e.g. `cart_abandonment.reminder_delay`), in milliseconds. An
     * activity, not workflow code: evaluation reads live state, and its result must be recorded
     * in the history so a replay waits exactly as the first run did.
     */
    async resolveDuration(flag: string, unit: string, defaultMs: number, context: Record<string, unknown> = {}): Promise<FlagUse> {
      return flagUse(deps.flags, flag, unit, defaultMs, context)
    },

    async storeVersion(): Promise<string> {
      const [row] = await selectRows<{ v: string }>(deps.client, 'SELECT version() AS v')
      return row?.v ?? 'unknown'
    },
  }
}

export type Activities = ReturnType<typeof createActivities>

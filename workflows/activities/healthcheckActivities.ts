import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/** Activities get their adapters injected, so tests run them against a real temp store. */
export interface ActivityDeps {
  client: ClickHouseClient
}

export function createActivities(deps: ActivityDeps) {
  return {
    async storeVersion(): Promise<string> {
      const [row] = await selectRows<{ v: string }>(deps.client, 'SELECT version() AS v')
      return row?.v ?? 'unknown'
    },
  }
}

export type Activities = ReturnType<typeof createActivities>

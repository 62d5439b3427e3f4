import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../../clickhouse/store.js'
import { iso } from './model.js'
import type { Range } from './sendsSql.js'

/** What the pre-send check stopped in the range, by reason (the false triggers caught in time). */
export async function preventedSends(client: ClickHouseClient, o: Range) {
  return selectRows<{ journey_id: string; reason: string; n: string }>(
    client,
    `SELECT journey_id, reason, count() AS n FROM journey_steps
     WHERE outcome = 'skipped' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
     GROUP BY journey_id, reason ORDER BY journey_id, reason`,
    o,
  )
}

/**
 * Runs that could not proceed in the range, by journey and reason (`failed:<step type>:<error
 * type>`, journey.workflow.ts): an activity refused its input or kept failing, and the run ended
 * there instead of retrying forever. With a few examples carrying the failure's message.
 */
export async function failedRuns(client: ClickHouseClient, o: Range, examples = 5) {
  const range = `at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})`
  const [counts, rows] = await Promise.all([
    selectRows<{ journey_id: string; outcome: string; n: string }>(
      client,
      `SELECT journey_id, outcome, uniqExact(workflow_id, trigger_message_id) AS n FROM journey_runs
       WHERE phase = 'ended' AND startsWith(outcome, 'failed:') AND ${range}
       GROUP BY journey_id, outcome ORDER BY journey_id, outcome`,
      o,
    ),
    selectRows<{
      journey_id: string
      workflow_id: string
      user_key: string
      step_id: string
      step_type: string
      reason: string
      at_ms: number
    }>(
      client,
      `SELECT journey_id, workflow_id, user_key, step_id, step_type, reason, toUnixTimestamp64Milli(at) AS at_ms FROM journey_steps
       WHERE outcome = 'failed' AND ${range} ORDER BY at DESC LIMIT 1 BY workflow_id, step_id LIMIT {examples:UInt32}`,
      { ...o, examples },
    ),
  ])
  return {
    counts: counts.map((c) => ({ journeyId: c.journey_id, outcome: c.outcome, runs: Number(c.n) })),
    examples: rows.map((r) => ({
      journey: r.journey_id,
      workflowId: r.workflow_id,
      userKey: r.user_key,
      step: r.step_id,
      stepType: r.step_type,
      message: r.reason,
      at: iso(r.at_ms),
    })),
  }
}

/** Sends per journey in the range (the rate's denominator). */
export async function sendCounts(client: ClickHouseClient, o: Range) {
  return selectRows<{ journey_id: string; n: string }>(
    client,
    `SELECT journey_id, uniqExact(message_id) AS n FROM send_ledger
     WHERE status = 'sent' AND is_test = 0 AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({until:Int64})
     GROUP BY journey_id`,
    o,
  )
}

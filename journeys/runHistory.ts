import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'

export interface RunSummary {
  workflowId: string
  userKey: string
  correlation: string
  version: number
  startedAt: string
  endedAt: string | null
  outcome: string
  test: boolean
}

/** A journey's recent runs, newest first, from their start and end records in `journey_runs`. */
export async function recentRuns(
  client: ClickHouseClient,
  journeyId: string,
  opts: { user?: string; limit: number },
): Promise<RunSummary[]> {
  const rows = await selectRows<{
    workflow_id: string
    uk: string
    corr: string
    v: number
    started: string
    ended: string | null
    outcome: string
    test: number
  }>(
    client,
    `SELECT workflow_id, any(user_key) AS uk, any(correlation) AS corr, max(journey_version) AS v,
            minIf(at, phase = 'started') AS started, if(countIf(phase = 'ended') > 0, toString(maxIf(at, phase = 'ended')), NULL) AS ended,
            argMaxIf(outcome, at, phase = 'ended') AS outcome, max(is_test) AS test
     FROM journey_runs WHERE journey_id = {id:String} AND ({user:String} = '' OR user_key = {user:String})
     GROUP BY workflow_id, trigger_message_id ORDER BY started DESC LIMIT {limit:UInt32}`,
    { id: journeyId, user: opts.user ?? '', limit: opts.limit },
  )
  return rows.map((x) => ({
    workflowId: x.workflow_id,
    userKey: x.uk,
    correlation: x.corr,
    version: Number(x.v),
    startedAt: x.started,
    endedAt: x.ended,
    outcome: x.outcome,
    test: Number(x.test) === 1,
  }))
}

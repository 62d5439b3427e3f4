import type { ClickHouseClient } from '@clickhouse/client'
import { z } from 'zod'
import { selectRows } from '../clickhouse/store.js'

/** One run of a journey as its start and end records tell it (the admin API lists these). */
export const runSummary = z
  .object({
    workflowId: z.string(),
    userKey: z.string(),
    correlation: z.string().describe('The correlation value the run follows ("" when it follows the user)'),
    version: z.number().describe('The definition version the run follows'),
    startedAt: z.string(),
    endedAt: z.string().nullable().describe('null while it runs'),
    outcome: z.string(),
    test: z.boolean().describe('A test send (test user or test run)'),
  })
  .meta({ id: 'JourneyRun' })
export type RunSummary = z.infer<typeof runSummary>

export interface RunHistory {
  recent(journeyId: string, opts: { user?: string; limit: number }): Promise<RunSummary[]>
}

/** The run records' reads, for whoever must not hold the store (the HTTP routes). */
export function runHistory(client: ClickHouseClient): RunHistory {
  return { recent: (journeyId, opts) => recentRuns(client, journeyId, opts) }
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

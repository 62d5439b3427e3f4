import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'

/** One message in the send ledger, as the pre-send check reads it (its latest status, its first attempt). */
export interface LedgerEntry {
  userKey: string
  messageId: string
  /** The latest status: `sending` (decided, perhaps handed over) or `sent`. */
  status: string
  /** When it was first decided (ms). */
  firstAt: number
  topic: string
  test: boolean
  /** Workflow id and step id, joined by NUL: one message's purpose. */
  runStep: string
}

/** Reads of the send ledger (journeys own it: JourneyRecorder writes it). */
export class SendLedgerReads {
  constructor(private readonly client: ClickHouseClient) {}

  /** These users' messages: the ones asked about (whenever decided) and any decided since `since`. */
  async entries(userKeys: readonly string[], messageIds: readonly string[], since: number): Promise<LedgerEntry[]> {
    const rows = await selectRows<{
      user_key: string
      message_id: string
      status: string
      first_at: string
      topic_: string
      test_: number
      run_step: string
    }>(
      this.client,
      `SELECT user_key, message_id, argMax(status, at) AS status, toUnixTimestamp64Milli(min(at)) AS first_at, any(topic) AS topic_, max(is_test) AS test_,
              concat(any(workflow_id), '\\0', any(step_id)) AS run_step
       FROM send_ledger WHERE user_key IN {keys:Array(String)} AND (message_id IN {ids:Array(String)} OR at >= fromUnixTimestamp64Milli({since:Int64}))
       GROUP BY user_key, message_id`,
      { keys: userKeys, ids: messageIds, since },
    )
    return rows.map((r) => ({
      userKey: r.user_key,
      messageId: r.message_id,
      status: r.status,
      firstAt: Number(r.first_at),
      topic: r.topic_,
      test: !!Number(r.test_),
      runStep: r.run_step,
    }))
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'

/**
 * Segment membership as stored, not as this process's memory holds it: in a worker the segment
 * engine runs elsewhere, and a transition is stored before any run hears of it.
 */
export class MembershipReads {
  constructor(private readonly client: ClickHouseClient) {}

  /** Which of these users are members now of which of these segments: keys `segment NUL user`. */
  async members(segmentIds: readonly string[], userKeys: readonly string[]): Promise<Set<string>> {
    if (!segmentIds.length) return new Set()
    const rows = await selectRows<{ segment_id: string; user_key: string; m: number }>(
      this.client,
      `SELECT segment_id, user_key, argMax(is_member, changed_at) AS m FROM segment_membership
       WHERE segment_id IN {segments:Array(String)} AND user_key IN {keys:Array(String)} GROUP BY segment_id, user_key`,
      { segments: segmentIds, keys: userKeys },
    )
    return new Set(rows.filter((r) => Number(r.m) === 1).map((r) => membershipKey(r.segment_id, r.user_key)))
  }
}

export const membershipKey = (segmentId: string, userKey: string) => `${segmentId}\u0000${userKey}`

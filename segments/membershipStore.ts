import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../ingest/identity/consentState.js'
import { selectRows } from '../clickhouse/store.js'
import { canonical, identityMap } from './compile.js'
import { dateTimeParam } from './sqlBuilder.js'

export type TransitionCause = 'event' | 'sweep' | 'recompute' | 'definition' | 'deleted' | 'dependency' | 'consent'

export interface Transition {
  segmentId: string
  userKey: string
  entered: boolean
  at: number
  cause: TransitionCause
  triggerMessageId: string
  segmentVersion: number
}

/** The segment tables: current membership and the transition log (definitions: segmentCatalog.ts). */
export class MembershipStore {
  constructor(private readonly client: ClickHouseClient) {}

  async loadMembers(): Promise<Map<string, Set<string>>> {
    const rows = await selectRows<{ segment_id: string; user_key: string }>(
      this.client,
      'SELECT segment_id, user_key FROM segment_membership FINAL WHERE is_member = 1',
    )
    const out = new Map<string, Set<string>>()
    for (const r of rows) {
      let set = out.get(r.segment_id)
      if (!set) out.set(r.segment_id, (set = new Set()))
      set.add(r.user_key)
    }
    return out
  }

  /** Transitions recorded after `since` (ms), oldest first: how a read-only process follows membership. */
  async transitionsSince(since: number): Promise<{ segment_id: string; user_key: string; entered: number; at: string }[]> {
    return selectRows(
      this.client,
      `SELECT segment_id, user_key, entered, toUnixTimestamp64Milli(at) AS at FROM segment_transitions
       WHERE at > fromUnixTimestamp64Milli({since:Int64}) ORDER BY at, segment_id, user_key`,
      { since },
    )
  }

  /** The transition log; current membership follows by materialized view. Throws on failure (nothing applied). */
  async record(transitions: Transition[]): Promise<void> {
    if (!transitions.length) return
    await this.client.insert({
      table: 'segment_transitions',
      format: 'JSONEachRow',
      values: transitions.map((t) => ({
        segment_id: t.segmentId,
        user_key: t.userKey,
        entered: t.entered ? 1 : 0,
        at: t.at,
        cause: t.cause,
        trigger_message_id: t.triggerMessageId,
        segment_version: t.segmentVersion,
      })),
    })
  }

  async members(segmentId: string, after: string, limit: number): Promise<string[]> {
    const rows = await selectRows<{ user_key: string }>(
      this.client,
      `SELECT user_key FROM segment_membership FINAL
       WHERE segment_id = {id:String} AND is_member = 1 AND user_key > {after:String}
       ORDER BY user_key LIMIT {limit:UInt32}`,
      { id: segmentId, after, limit },
    )
    return rows.map((r) => r.user_key)
  }

  /** Size at the end of each bucket, from the transition log. */
  async sizeHistory(
    segmentId: string,
    bucket: 'hour' | 'day',
    from: number,
    to: number,
  ): Promise<{ at: string; size: number; entered: number; exited: number }[]> {
    const fn = bucket === 'hour' ? 'toStartOfHour' : 'toStartOfDay'
    const params = { id: segmentId, from: dateTimeParam(from), to: dateTimeParam(to) }
    const [start] = await selectRows<{ n: string | number }>(
      this.client,
      `SELECT countIf(entered = 1) - countIf(entered = 0) AS n FROM segment_transitions WHERE segment_id = {id:String} AND at < {from:DateTime64(3, 'UTC')}`,
      params,
    )
    const rows = await selectRows<{ bucket: string; ins: string | number; outs: string | number }>(
      this.client,
      `SELECT ${fn}(at) AS bucket, countIf(entered = 1) AS ins, countIf(entered = 0) AS outs
       FROM segment_transitions
       WHERE segment_id = {id:String} AND at >= {from:DateTime64(3, 'UTC')} AND at <= {to:DateTime64(3, 'UTC')}
       GROUP BY bucket ORDER BY bucket`,
      params,
    )
    let size = Number(start?.n ?? 0)
    return rows.map((r) => {
      size += Number(r.ins) - Number(r.outs)
      return { at: new Date(parseUtc(r.bucket)).toISOString(), size, entered: Number(r.ins), exited: Number(r.outs) }
    })
  }

  /** All user keys (user id and linked anonymous ids) of these canonical users. */
  async keysOf(users: string[]): Promise<string[]> {
    return [...new Set([...(await this.keysOfUsers(users)).values()].flat())]
  }

  /** Per user: the user id and every anonymous id linked to it. */
  async keysOfUsers(users: string[]): Promise<Map<string, string[]>> {
    const out = new Map(users.map((u) => [u, [u]]))
    if (!users.length) return out
    const rows = await selectRows<{ user_id: string; anonymous_id: string }>(
      this.client,
      'SELECT DISTINCT user_id, anonymous_id FROM identities WHERE user_id IN {users:Array(String)}',
      { users },
    )
    for (const r of rows) out.get(r.user_id)?.push(r.anonymous_id)
    return out
  }

  /**
   * Users with a relevant event whose age crossed one of `windows` between two sweeps: the only
   * users whose membership time alone can have changed.
   */
  async crossedWindows(
    match: { events: string[]; types: string[]; anyEvent: boolean },
    windows: number[],
    previous: number,
    now: number,
    limit: number,
  ): Promise<string[] | null> {
    const params: Record<string, unknown> = { events: match.events, types: match.types, limit: limit + 1 }
    const ranges = windows.map((w, i) => {
      params[`from${i}`] = dateTimeParam(previous - w)
      params[`to${i}`] = dateTimeParam(now - w)
      return `(e.timestamp > {from${i}:DateTime64(3, 'UTC')} AND e.timestamp <= {to${i}:DateTime64(3, 'UTC')})`
    })
    const relevant = match.anyEvent
      ? '1'
      : "((e.type = 'track' AND e.event IN {events:Array(String)}) OR (e.type != 'track' AND e.type IN {types:Array(String)}))"
    const rows = await selectRows<{ u: string }>(
      this.client,
      `SELECT DISTINCT ${canonical('e')} AS u
       FROM events AS e LEFT ANY JOIN ${identityMap()} AS m ON e.user_key = m.anonymous_id
       WHERE ${relevant} AND (${ranges.join(' OR ')})
       LIMIT {limit:UInt64}`,
      params,
    )
    // Past the limit a full recompute is cheaper than a scoped one.
    return rows.length > limit ? null : rows.map((r) => r.u)
  }

  /** Canonical user of each anonymous / previous id that has been linked. */
  async canonicalOf(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map()
    const rows = await selectRows<{ anonymous_id: string; uid: string }>(
      this.client,
      'SELECT anonymous_id, argMax(user_id, linked_at) AS uid FROM identities WHERE anonymous_id IN {ids:Array(String)} GROUP BY anonymous_id',
      { ids },
    )
    return new Map(rows.map((r) => [r.anonymous_id, r.uid]))
  }
}

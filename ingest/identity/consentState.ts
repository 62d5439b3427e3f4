import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import type { ConsentUpdate } from '../types.js'

/**
 * The current consent of every user who has ever recorded one, in memory, because ingest asks
 * "may we keep this event?" for every event. The timeline itself lives in the `consent` table;
 * this is its latest row per (user, topic). Users with no recorded choice get the defaults.
 */
const EMPTY: ReadonlyMap<string, { granted: boolean; at: number }> = new Map()

export class ConsentState {
  private readonly byUser = new Map<string, Map<string, { granted: boolean; at: number }>>()
  private lastRecordedAt = 0

  constructor(private readonly defaults: Record<string, boolean>) {}

  explicit(userKey: string, topic: string): boolean | undefined {
    return this.byUser.get(userKey)?.get(topic)?.granted
  }

  /** Recorded choices of a user with their times. */
  recorded(userKey: string): ReadonlyMap<string, { granted: boolean; at: number }> {
    return this.byUser.get(userKey) ?? EMPTY
  }

  isGranted(userKey: string, topic: string): boolean {
    return this.explicit(userKey, topic) ?? this.defaults[topic] ?? false
  }

  /** All topics for a user: defaults overlaid with recorded choices. */
  snapshot(userKey: string): Record<string, boolean> {
    const out = { ...this.defaults }
    for (const [topic, s] of this.byUser.get(userKey) ?? []) out[topic] = s.granted
    return out
  }

  /** Applies changes in time order; an older change never overrides a newer one. */
  apply(changes: Iterable<Pick<ConsentUpdate, 'userKey' | 'topic' | 'granted' | 'changedAt'>>): void {
    for (const c of changes) {
      let topics = this.byUser.get(c.userKey)
      if (!topics) this.byUser.set(c.userKey, (topics = new Map()))
      const current = topics.get(c.topic)
      if (!current || current.at <= c.changedAt) topics.set(c.topic, { granted: c.granted, at: c.changedAt })
    }
  }

  forget(userKeys: Iterable<string>): void {
    for (const k of userKeys) this.byUser.delete(k)
  }

  /**
   * Loads (or, called again, catches up with) recorded consent. Other API replicas write to
   * the same table, so scaled deployments call this on an interval.
   */
  async load(client: ClickHouseClient): Promise<number> {
    // Re-read a minute of overlap: another replica's row can be stamped before an earlier-seen one
    // lands. apply() ignores what it already has, so reading twice is harmless.
    const since = Math.max(0, this.lastRecordedAt - 60_000)
    const rows = await selectRows<{ user_key: string; topic: string; granted: number; changed_at: string; recorded_at: string }>(
      client,
      `SELECT user_key, topic, granted, changed_at, recorded_at FROM consent
       WHERE recorded_at > fromUnixTimestamp64Milli({since:Int64}, 'UTC') ORDER BY changed_at`,
      { since },
    )
    for (const r of rows) {
      this.apply([{ userKey: r.user_key, topic: r.topic, granted: Number(r.granted) === 1, changedAt: parseUtc(r.changed_at) }])
      this.lastRecordedAt = Math.max(this.lastRecordedAt, parseUtc(r.recorded_at))
    }
    return rows.length
  }
}

/** ClickHouse returns DateTime64 in ISO form without a zone when date_time_output_format=iso; it is UTC. */
export function parseUtc(text: string): number {
  return Date.parse(text.endsWith('Z') ? text : `${text.replace(' ', 'T')}Z`)
}

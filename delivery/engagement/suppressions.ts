import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import { contactLookupHash } from '../../ingest/rows.js'
import type { SuppressionStatus } from './suppressionStatus.js'

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'soft_bounces' | 'manual'

/**
 * The suppression list, by address (its keyed lookup hash — the address itself is not stored
 * here). The pre-send check reads it; webhooks and operators write it.
 */
export class SuppressionList {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly lookupKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  hashOf(email: string): string {
    return contactLookupHash(this.lookupKey, 'email', email)
  }

  async add(lookupHash: string, reason: SuppressionReason, source: string): Promise<void> {
    await this.client.insert({
      table: 'suppressions',
      format: 'JSONEachRow',
      values: [{ lookup_hash: lookupHash, reason, source, at: this.now(), active: 1 }],
    })
  }

  async remove(lookupHash: string, source: string): Promise<void> {
    await this.client.insert({
      table: 'suppressions',
      format: 'JSONEachRow',
      values: [{ lookup_hash: lookupHash, reason: 'removed', source, at: this.now(), active: 0 }],
    })
  }

  async get(lookupHash: string): Promise<SuppressionStatus> {
    const [r] = await selectRows<{ reason: string; source: string; at: string; active: number }>(
      this.client,
      'SELECT reason, source, toString(at) AS at, active FROM suppressions FINAL WHERE lookup_hash = {h:String}',
      { h: lookupHash },
    )
    return r && Number(r.active) === 1 ? { suppressed: true, reason: r.reason, source: r.source, at: r.at } : { suppressed: false }
  }

  /**
   * The lookup hashes of these users' current email addresses that are suppressed. By address: a
   * bounced address stays suppressed whoever it belongs to.
   */
  async activeForUsers(userKeys: readonly string[]): Promise<Set<string>> {
    const rows = await selectRows<{ lookup_hash: string }>(
      this.client,
      `SELECT lookup_hash FROM suppressions FINAL WHERE active = 1 AND lookup_hash IN (
         SELECT argMax(lookup_hash, updated_at) FROM contacts WHERE user_key IN {keys:Array(String)} AND kind = 'email' GROUP BY user_key)`,
      { keys: userKeys },
    )
    return new Set(rows.map((r) => r.lookup_hash))
  }
}

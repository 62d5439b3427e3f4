import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import type { ContactCipher } from '../../core/contactCipher.js'
import { parseJsonText } from '../../core/jsonText.js'

export interface EmailContact {
  email: string
  /** The contact's keyed lookup hash (as stored with it). */
  lookupHash: string
}

/** What a send needs to know of its recipients, by user key: the current email address and the traits. */
export class RecipientReads {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly cipher: ContactCipher,
  ) {}

  async emails(userKeys: readonly string[]): Promise<Map<string, EmailContact>> {
    const rows = await selectRows<{ user_key: string; value_enc: string; lookup: string }>(
      this.client,
      `SELECT user_key, argMax(value_enc, updated_at) AS value_enc, argMax(lookup_hash, updated_at) AS lookup FROM contacts WHERE user_key IN {keys:Array(String)} AND kind = 'email' GROUP BY user_key`,
      { keys: userKeys },
    )
    return new Map(rows.map((c) => [c.user_key, { email: this.cipher.decrypt(c.value_enc), lookupHash: c.lookup }]))
  }

  async traits(userKeys: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const rows = await selectRows<{ user_key: string; key: string; value: string }>(
      this.client,
      'SELECT user_key, key, argMax(value, updated_at) AS value FROM traits WHERE user_key IN {keys:Array(String)} GROUP BY user_key, key',
      { keys: userKeys },
    )
    const out = new Map<string, Record<string, unknown>>()
    for (const t of rows) (out.get(t.user_key) ?? out.set(t.user_key, {}).get(t.user_key)!)[t.key] = parseJsonText(t.value)
    return out
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { type ContactCipher, maskContact } from '../../core/contactCipher.js'
import { NotFoundError } from '../../core/errors.js'
import type { ConsentState } from './consentState.js'
import type { LinkedIdentity, StoredEvent } from './storedEvent.js'
import type { ErasedSubject } from '../erasure/erasureRegistry.js'
import { ERASED_TABLES } from '../erasure/tablePlan.js'
import { erasedIdHash } from '../erasure/tombstones.js'
import { type ClusterOptions, toClusterStatements } from '../../clickhouse/clusterDdl.js'
import { selectRows } from '../../clickhouse/store.js'

/**
 * One person's data across every table: the user API, the export (data subject access) and
 * erasure. A user's history includes what their linked anonymous ids did before they signed in.
 */
interface EventRowOut {
  message_id: string
  type: string
  event: string
  name: string
  user_id: string
  anonymous_id: string
  timestamp: string
  received_at: string
  properties: string
  context: string
  traits: string
  consent_limited: number
}

const EVENT_COLUMNS =
  'message_id, type, event, name, user_id, anonymous_id, timestamp, received_at, properties, context, traits, consent_limited'

export class UserRepository {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly cipher: ContactCipher,
    private readonly consent: ConsentState,
    /** Keys the hashes of the erasure log (the erasure salt from the secrets). */
    private readonly erasureKey: Buffer,
    /** On a cluster (CLICKHOUSE_CLUSTER), deletes go to every shard's local tables. */
    private readonly cluster?: ClusterOptions,
  ) {}

  /** The user id plus every anonymous / aliased id linked to it. */
  async keysOf(userId: string): Promise<{ keys: string[]; identities: LinkedIdentity[] }> {
    const rows = await selectRows<{ anonymous_id: string; link_kind: string; first_linked: string }>(
      this.client,
      `SELECT anonymous_id, argMax(kind, linked_at) AS link_kind, min(linked_at) AS first_linked
       FROM identities WHERE user_id = {id:String} GROUP BY anonymous_id ORDER BY first_linked`,
      { id: userId },
    )
    return {
      keys: [userId, ...rows.map((r) => r.anonymous_id)],
      identities: rows.map((r) => ({ anonymousId: r.anonymous_id, kind: r.link_kind, linkedAt: r.first_linked })),
    }
  }

  async traits(keys: string[]): Promise<Record<string, unknown>> {
    const rows = await selectRows<{ key: string; value: string }>(
      this.client,
      `SELECT key, argMax(value, updated_at) AS value FROM traits WHERE user_key IN {keys:Array(String)} GROUP BY key ORDER BY key`,
      { keys },
    )
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]))
  }

  async contacts(keys: string[]): Promise<Record<string, string>> {
    const rows = await selectRows<{ kind: 'email' | 'phone'; value_enc: string }>(
      this.client,
      `SELECT kind, argMax(value_enc, updated_at) AS value_enc FROM contacts WHERE user_key IN {keys:Array(String)} GROUP BY kind`,
      { keys },
    )
    return Object.fromEntries(rows.map((r) => [r.kind, this.cipher.decrypt(r.value_enc)]))
  }

  async consentTimeline(keys: string[]) {
    return selectRows<{ user_key: string; topic: string; granted: number; changed_at: string; source: string }>(
      this.client,
      `SELECT user_key, topic, granted, changed_at, source FROM consent FINAL WHERE user_key IN {keys:Array(String)} ORDER BY changed_at, topic`,
      { keys },
    ).then((rows) =>
      rows.map((r) => ({
        userKey: r.user_key,
        topic: r.topic,
        granted: Number(r.granted) === 1,
        changedAt: r.changed_at,
        source: r.source,
      })),
    )
  }

  async events(keys: string[], limit?: number): Promise<StoredEvent[]> {
    if (limit === 0) return []
    const rows = await selectRows<EventRowOut>(
      this.client,
      `SELECT ${EVENT_COLUMNS} FROM events WHERE user_key IN {keys:Array(String)}
       ORDER BY timestamp DESC, message_id ${limit !== undefined ? 'LIMIT {limit:UInt32}' : ''}`,
      { keys, limit: limit ?? 0 },
    )
    return rows.map((r) => ({
      messageId: r.message_id,
      type: r.type,
      event: r.event,
      name: r.name,
      userId: r.user_id,
      anonymousId: r.anonymous_id,
      timestamp: r.timestamp,
      receivedAt: r.received_at,
      properties: JSON.parse(r.properties),
      context: JSON.parse(r.context),
      traits: JSON.parse(r.traits),
      consentLimited: Number(r.consent_limited) === 1,
    }))
  }

  /** Everything held about a user (events: the newest `limit`, or all); 404 when nothing is. */
  private async collect(userId: string, limit?: number) {
    const { keys, identities } = await this.keysOf(userId)
    const [traits, contacts, timeline, events] = await Promise.all([
      this.traits(keys),
      this.contacts(keys),
      this.consentTimeline(keys),
      this.events(keys, limit),
    ])
    const held =
      identities.length > 0 ||
      Object.keys(traits).length > 0 ||
      Object.keys(contacts).length > 0 ||
      timeline.length > 0 ||
      events.length > 0 ||
      // With recent=0 no event was read; whether there are any is still asked.
      (limit === 0 &&
        (await selectRows(this.client, 'SELECT 1 FROM events WHERE user_key IN {keys:Array(String)} LIMIT 1', { keys })).length > 0)
    if (!held) throw new NotFoundError(`No data is held for user "${userId}"`)
    return { keys, identities, traits, contacts, timeline, events, consent: { current: this.consent.snapshot(userId), timeline } }
  }

  /** `GET /api/users/:id`: contact details masked — they are decrypted in full only to send or export. */
  async profile(userId: string, recent = 50) {
    const { keys, identities, traits, contacts, consent, events } = await this.collect(userId, recent)
    const masked = Object.fromEntries(Object.entries(contacts).map(([k, v]) => [k, maskContact(k as 'email' | 'phone', v)]))
    return { userId, keys, traits, contacts: masked, identities, consent, recentEvents: events }
  }

  /** `GET /api/users/:id/export`: everything held about the person, decrypted. */
  async export(userId: string) {
    const { identities, traits, contacts, consent, events } = await this.collect(userId)
    return { exportedAt: new Date().toISOString(), userId, profile: { traits, contacts }, identities, consent, events }
  }

  /**
   * The user id and every id linked to it, followed to the end: an `alias` makes an earlier user
   * id P an id of U, and P's own anonymous ids (linked to P by identify) are the same person's too.
   * `keysOf` looks one link deep (the profile's view); an erasure that did the same would delete
   * P's identity rows and leave the anonymous ids' events behind, unlinked and unerasable. Links
   * are followed from user id to anonymous id only (an anonymous id shared by two people — a
   * family computer — does not lead from one to the other), up to a bound that no real chain
   * reaches.
   */
  async linkedKeys(userId: string): Promise<string[]> {
    const keys = new Set([userId])
    let frontier = [userId]
    for (let depth = 0; frontier.length && depth < 16 && keys.size < 100_000; depth++) {
      const rows = await selectRows<{ id: string }>(
        this.client,
        'SELECT DISTINCT anonymous_id AS id FROM identities WHERE user_id IN {ids:Array(String)}',
        { ids: frontier },
      )
      frontier = rows.map((r) => r.id).filter((id) => !keys.has(id))
      for (const id of frontier) keys.add(id)
    }
    return [...keys]
  }

  /**
   * Everything of the person an erasure must find before it deletes anything: their ids, the
   * mail sent to them, their event ids and every address they had.
   */
  async subjectOf(userId: string): Promise<ErasedSubject> {
    const keys = await this.linkedKeys(userId)
    const p = { keys }
    const [mail, events, contacts] = await Promise.all([
      selectRows<{ id: string }>(
        this.client,
        `SELECT DISTINCT message_id AS id FROM (
           SELECT message_id FROM send_ledger WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM message_bodies WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM message_events WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM discount_codes WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM journey_steps WHERE user_key IN {keys:Array(String)} AND message_id != '')`,
        p,
      ),
      selectRows<{ id: string }>(
        this.client,
        `SELECT DISTINCT message_id AS id FROM (
           SELECT message_id FROM events WHERE user_key IN {keys:Array(String)} OR user_id IN {keys:Array(String)} OR anonymous_id IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM traits WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM consent WHERE user_key IN {keys:Array(String)}
           UNION ALL SELECT message_id FROM identities WHERE user_id IN {keys:Array(String)} OR anonymous_id IN {keys:Array(String)})
         WHERE message_id != ''`,
        p,
      ),
      // Every address they ever had, not only the latest: mail went to each.
      selectRows<{ kind: string; value_enc: string }>(
        this.client,
        'SELECT kind, value_enc FROM contacts WHERE user_key IN {keys:Array(String)}',
        p,
      ),
    ])
    const emails = new Set<string>()
    for (const c of contacts) {
      if (c.kind !== 'email') continue
      try {
        emails.add(this.cipher.decrypt(c.value_enc))
      } catch {
        // A row written under another key cannot be read; it is deleted with the rest.
      }
    }
    return { userId, keys, messageIds: mail.map((r) => r.id), eventMessageIds: events.map((r) => r.id), emails: [...emails] }
  }

  /**
   * Deletes the person from every table that holds people's data (ERASED_TABLES), synchronously:
   * the mutations have finished when this returns. Returns the number of rows deleted.
   */
  async eraseStored(s: ErasedSubject): Promise<number> {
    const params = { keys: s.keys, messageIds: s.messageIds, eventMessageIds: s.eventMessageIds, emails: s.emails }
    let rows = 0
    for (const [table, where] of Object.entries(ERASED_TABLES)) {
      const [c] = await selectRows<{ n: string | number }>(this.client, `SELECT count() AS n FROM ${table} WHERE ${where}`, params)
      const n = Number(c?.n ?? 0)
      if (n === 0) continue
      rows += n
      const mutation = `ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`
      // A Distributed table holds no rows to delete: on a cluster the mutation names the local tables, ON CLUSTER.
      for (const query of this.cluster ? toClusterStatements(mutation, this.cluster) : [mutation])
        await this.client.command({ query, query_params: params })
    }
    return rows
  }

  /** The erasure log: proof it happened, naming the person only by a keyed hash. */
  async logErasure(userId: string, rowsDeleted: number, requestedBy: string, at = Date.now()): Promise<void> {
    await this.client.insert({
      table: 'erasures',
      values: [{ user_hash: this.erasureHash(userId), erased_at: at, rows_deleted: rowsDeleted, requested_by: requestedBy }],
      format: 'JSONEachRow',
    })
  }

  /** The same keyed hash the tombstone keeps for the user id. */
  erasureHash(userId: string): string {
    return erasedIdHash(this.erasureKey, 'user', userId)
  }
}

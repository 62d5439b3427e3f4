import { createHash } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { type ContactCipher, maskContact } from '../core/contactCipher.js'
import { NotFoundError } from '../core/errors.js'
import type { ConsentState } from './consentState.js'
import { selectRows } from './store.js'

/**
 * One person's data across every table: the user API, the export (data subject access) and
 * erasure. A user's history includes what their linked anonymous ids did before they signed in.
 */
export interface StoredEvent {
  messageId: string
  type: string
  event: string
  name: string
  userId: string
  anonymousId: string
  timestamp: string
  receivedAt: string
  properties: Record<string, unknown>
  context?: Record<string, unknown>
  traits?: Record<string, unknown>
  consentLimited: boolean
}

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

const EVENT_COLUMNS = 'message_id, type, event, name, user_id, anonymous_id, timestamp, received_at, properties, context, traits, consent_limited'

export class UserRepository {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly cipher: ContactCipher,
    private readonly consent: ConsentState,
    private readonly erasureSalt: Buffer,
  ) {}

  /** The user id plus every anonymous / aliased id linked to it. */
  async keysOf(userId: string): Promise<{ keys: string[]; identities: { anonymousId: string; kind: string; linkedAt: string }[] }> {
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
    ).then((rows) => rows.map((r) => ({ userKey: r.user_key, topic: r.topic, granted: Number(r.granted) === 1, changedAt: r.changed_at, source: r.source })))
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
    const [traits, contacts, timeline, events] = await Promise.all([this.traits(keys), this.contacts(keys), this.consentTimeline(keys), this.events(keys, limit)])
    const held =
      identities.length > 0 ||
      Object.keys(traits).length > 0 ||
      Object.keys(contacts).length > 0 ||
      timeline.length > 0 ||
      events.length > 0 ||
      // With recent=0 no event was read; whether there are any is still asked.
      (limit === 0 && (await selectRows(this.client, 'SELECT 1 FROM events WHERE user_key IN {keys:Array(String)} LIMIT 1', { keys })).length > 0)
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
   * Erasure from every table, synchronously (the mutation has finished when this returns).
   * Message ids are kept — they are random and say nothing about the person — so a late retry
   * of an erased event cannot bring it back.
   */
  async erase(userId: string, requestedBy: string): Promise<{ rowsDeleted: number; keys: string[] }> {
    const { keys } = await this.keysOf(userId)
    const counts = await selectRows<{ n: string | number }>(
      this.client,
      `SELECT (SELECT count() FROM events WHERE user_key IN {keys:Array(String)})
            + (SELECT count() FROM traits WHERE user_key IN {keys:Array(String)})
            + (SELECT count() FROM contacts WHERE user_key IN {keys:Array(String)})
            + (SELECT count() FROM consent WHERE user_key IN {keys:Array(String)})
            + (SELECT count() FROM identities WHERE user_id = {id:String} OR anonymous_id IN {keys:Array(String)}) AS n`,
      { keys, id: userId },
    )
    const deletions: [string, string][] = [
      ['events', 'user_key IN {keys:Array(String)}'],
      ['traits', 'user_key IN {keys:Array(String)}'],
      ['contacts', 'user_key IN {keys:Array(String)}'],
      ['consent', 'user_key IN {keys:Array(String)}'],
      ['identities', 'user_id = {id:String} OR anonymous_id IN {keys:Array(String)}'],
      ['segment_membership', 'user_key IN {keys:Array(String)}'],
      ['segment_transitions', 'user_key IN {keys:Array(String)}'],
      ['journey_runs', 'user_key IN {keys:Array(String)}'],
      ['journey_steps', 'user_key IN {keys:Array(String)}'],
      ['send_ledger', 'user_key IN {keys:Array(String)}'],
      ['experiment_exposures', 'unit IN {keys:Array(String)}'],
      ['mailbox', 'hasAny(rcpt_to, {emails:Array(String)})'],
    ]
    const emails = Object.values(await this.contacts(keys).catch(() => ({}))).filter((v) => v.includes('@'))
    for (const [table, where] of deletions)
      await this.client.command({ query: `ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, query_params: { keys, id: userId, emails } })
    this.consent.forget(keys)
    const rowsDeleted = Number(counts[0]?.n ?? 0)
    await this.client.insert({
      table: 'erasures',
      values: [{ user_hash: this.erasureHash(userId), erased_at: Date.now(), rows_deleted: rowsDeleted, requested_by: requestedBy }],
      format: 'JSONEachRow',
    })
    return { rowsDeleted, keys }
  }

  erasureHash(userId: string): string {
    return createHash('sha256').update(this.erasureSalt).update(userId).digest('hex')
  }
}

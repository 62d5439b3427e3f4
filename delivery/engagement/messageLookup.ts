import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'

/** What tracking needs to know of a message it sees an open, click or bounce for. */
export interface MessageInfo {
  messageId: string
  userKey: string
  journeyId: string
  stepId: string
  template: string
  topic: string
  experimentKey: string
  variant: string
  recipientHash: string
  /** When it was handed to the transport (ms). */
  sentAt: number
  test: boolean
}

/**
 * Message id → its send, from the ledger (bloom-indexed by message id), with the newest kept in
 * memory: opens and clicks come in bursts right after a send.
 */
export class MessageLookup {
  private readonly cache = new Map<string, MessageInfo>()

  constructor(
    private readonly client: ClickHouseClient,
    private readonly max = 50_000,
  ) {}

  remember(m: MessageInfo): void {
    this.cache.delete(m.messageId)
    this.cache.set(m.messageId, m)
    if (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!)
  }

  /** After an erasure: cached sends of these users or ids are dropped. */
  forget(userKeys: readonly string[], messageIds: readonly string[]): void {
    const users = new Set(userKeys)
    for (const id of messageIds) this.cache.delete(id)
    for (const [id, m] of this.cache) if (users.has(m.userKey)) this.cache.delete(id)
  }

  /** Whether a send of these users or ids is cached (the erasure test asks). */
  knows(userKeys: readonly string[], messageIds: readonly string[]): boolean {
    const users = new Set(userKeys)
    return messageIds.some((id) => this.cache.has(id)) || [...this.cache.values()].some((m) => users.has(m.userKey))
  }

  async get(messageId: string): Promise<MessageInfo | undefined> {
    const hit = this.cache.get(messageId)
    if (hit) return hit
    const [r] = await selectRows<Record<string, string | number>>(
      this.client,
      `SELECT message_id, user_key, journey_id, step_id, template, topic, experiment_key, variant, recipient_hash,
              toUnixTimestamp64Milli(at) AS sent_ms, is_test
       FROM send_ledger WHERE message_id = {id:String}
       ORDER BY status = 'sent' DESC, at DESC LIMIT 1`,
      { id: messageId },
    )
    if (!r) return undefined
    const m: MessageInfo = {
      messageId,
      userKey: String(r.user_key),
      journeyId: String(r.journey_id),
      stepId: String(r.step_id),
      template: String(r.template),
      topic: String(r.topic),
      experimentKey: String(r.experiment_key),
      variant: String(r.variant),
      recipientHash: String(r.recipient_hash),
      sentAt: Number(r.sent_ms),
      test: Number(r.is_test) === 1,
    }
    this.remember(m)
    return m
  }

  /** The latest message sent to a recipient (bounce reports that carry only an address). */
  async latestTo(recipientHash: string): Promise<MessageInfo | undefined> {
    const [r] = await selectRows<{ message_id: string }>(
      this.client,
      "SELECT message_id FROM send_ledger WHERE recipient_hash = {h:String} AND status = 'sent' ORDER BY at DESC LIMIT 1",
      { h: recipientHash },
    )
    return r ? this.get(r.message_id) : undefined
  }
}

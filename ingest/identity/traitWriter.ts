import type { ClickHouseClient } from '@clickhouse/client'

/**
 * Writes one trait straight to the store: for a process that does not ingest (a worker-only
 * process), where a journey's set-trait step cannot go through ingest. The message id makes a
 * retried step's row recognisable, as ingest would.
 */
export class TraitWriter {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly now: () => number = Date.now,
  ) {}

  async set(userKey: string, key: string, value: unknown, messageId: string): Promise<void> {
    await this.client.insert({
      table: 'traits',
      format: 'JSONEachRow',
      values: [{ user_key: userKey, key, value: JSON.stringify(value), updated_at: this.now(), message_id: messageId }],
    })
  }
}

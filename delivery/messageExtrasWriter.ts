import type { ClickHouseClient } from '@clickhouse/client'
import { GroupInsert } from '../clickhouse/groupInsert.js'

/**
 * A sent message's extras: its body (view in browser) and its discount code, stored in group
 * commits before the message is handed over (a link in it must find them).
 */
export class MessageExtrasWriter {
  private readonly bodies: GroupInsert<Record<string, unknown>>
  private readonly codes: GroupInsert<Record<string, unknown>>

  constructor(client: ClickHouseClient) {
    this.bodies = new GroupInsert<Record<string, unknown>>(client, 'message_bodies')
    this.codes = new GroupInsert<Record<string, unknown>>(client, 'discount_codes')
  }

  body(row: Record<string, unknown>): Promise<void> {
    return this.bodies.add(row)
  }

  code(row: Record<string, unknown>): Promise<void> {
    return this.codes.add(row)
  }

  /** What was added so far is stored (an erasure waits for it). */
  async settled(): Promise<void> {
    await this.bodies.settled()
    await this.codes.settled()
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../clickhouse/store.js'

/** The stored HTML of sent mail (`message_bodies`, kept 30 days): what "view in browser" shows. */
export interface MessageBodies {
  /** The HTML a message was sent with, or undefined when it is unknown, expired or erased. */
  html(messageId: string): Promise<string | undefined>
}

export function messageBodies(client: ClickHouseClient): MessageBodies {
  return {
    async html(messageId) {
      const [row] = await selectRows<{ html: string }>(client, 'SELECT html FROM message_bodies WHERE message_id = {id:String} LIMIT 1', {
        id: messageId,
      })
      return row?.html
    },
  }
}

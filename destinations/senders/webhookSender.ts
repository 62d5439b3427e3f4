import type { DestinationOf } from '../destinationSchema.js'
import type { DestinationRecord } from '../destinationRecord.js'
import { recordBody } from '../mapping.js'
import { SIGNATURE_HEADER, signBody } from '../signature.js'
import { httpCall } from './httpCall.js'
import type { Sender } from './sender.js'

/**
 * A generic HTTPS receiver: one POST per record, its JSON body signed (HMAC-SHA256 over the time
 * and the exact bytes sent). `Nudge-Delivery-Id` is the record id: the same on every retry, so the
 * receiver can drop a repeat. Erasure is a record of its own kind (`user_erased`): the receiver
 * decides what deleting means on its side.
 */
export function webhookSender(d: DestinationOf<'webhook'>, now: () => number = Date.now): Sender {
  const post = (id: string, payload: Record<string, unknown>) => {
    const body = JSON.stringify(payload)
    return httpCall({
      method: 'POST',
      url: d.config.url,
      headers: { [SIGNATURE_HEADER]: signBody(d.config.secret, body, now()), 'nudge-delivery-id': id },
      body,
      timeoutMs: d.timeoutMs,
    })
  }
  return {
    send(r: DestinationRecord) {
      return post(r.id, recordBody(r, d.config.mapping))
    },
    erase(userId: string) {
      return post(`erase-${userId}`, { type: 'user_erased', userId, timestamp: new Date(now()).toISOString() })
    },
  }
}

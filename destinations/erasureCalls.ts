import type { DestinationDefinition } from './destinationSchema.js'
import { type SenderContext, senderFor } from './senders/senderFor.js'

export interface ErasureCallDeps {
  destinations: () => DestinationDefinition[]
  senders?: SenderContext
  onResult?: (destinationId: string, ok: boolean, reason?: string) => void
  sleep?: (ms: number) => Promise<void>
}

const ATTEMPTS = 3
/** Longest wait between two attempts: an erasure request is answered in seconds, not minutes. */
const MAX_WAIT_MS = 5000

/**
 * An erasure's delete calls: each destination that has one (HubSpot's GDPR delete, Salesforce's
 * record delete, a Segment regulation, a webhook's `user_erased`, a tombstone on a compacted Kafka
 * topic) is asked to delete every id the person was known by — disabled destinations too, they may hold what was sent before.
 * The erasure waits for these calls, but boundedly: a few attempts per destination and id, each
 * within the destination's timeout, then the failure is reported (metric, log) and Nudge's own
 * erasure completes regardless — a CRM that is down delays it, never fails it.
 * Pending records and dead letters go with the person's rows (`destination_outbox` is an erased table).
 */
export async function sendErasures(d: ErasureCallDeps, keys: string[]): Promise<void> {
  const sleep = d.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  for (const dest of d.destinations()) {
    const erase = senderFor(dest, d.senders)?.erase
    if (!erase) continue
    for (const key of keys) {
      let last = ''
      let ok = false
      for (let attempt = 1; attempt <= ATTEMPTS && !ok; attempt++) {
        const res = await erase(key)
        if (res.status === 'ok') ok = true
        else {
          last = res.reason
          if (res.status === 'permanent') break
          if (attempt < ATTEMPTS) await sleep(Math.min(MAX_WAIT_MS, res.retryAfterMs ?? 250 * 2 ** attempt))
        }
      }
      d.onResult?.(dest.id, ok, ok ? undefined : last)
    }
  }
}

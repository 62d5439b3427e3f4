import type { ClickHouseClient } from '@clickhouse/client'
import { ClickBursts } from '../delivery/engagement/clickBursts.js'
import { MessageLookup } from '../delivery/engagement/messageLookup.js'
import { OutcomeRecorder } from '../delivery/engagement/outcomes.js'
import { SuppressionList } from '../delivery/engagement/suppressions.js'
import type { IngestService } from '../ingest/ingestService.js'
import type { JourneyDepsIn } from './journeyDeps.js'

/**
 * Outcomes (delivered here; opens, clicks, unsubscribes and bounces at the API), the message
 * lookup tracking needs, click bursts and the suppression list. Where this process ingests,
 * outcomes are also the user's events.
 */
export function buildEngagement(d: JourneyDepsIn, client: ClickHouseClient) {
  const messages = new MessageLookup(client)
  const clicks = new ClickBursts()
  d.erasure.register({
    name: 'message lookup cache',
    eraseUser: (s) => messages.forget(s.keys, s.messageIds),
    knows: (s) => messages.knows(s.keys, s.messageIds),
  })
  d.erasure.register({ name: 'click bursts', eraseUser: (s) => clicks.forget(s.messageIds), knows: (s) => clicks.knows(s.messageIds) })
  const suppressions = new SuppressionList(client, d.lookupKey)
  const outcomes = new OutcomeRecorder(client, d.ingest ? outcomesAsEvents(d.ingest) : undefined, d.tombstones)
  d.erasure.registerPendingWrites('message outcomes', () => outcomes.settled())
  return { messages, clicks, suppressions, outcomes }
}

/** An outcome stored as the user's own track event (source `nudge-engagement`). */
function outcomesAsEvents(ingest: IngestService) {
  return async (userKey: string, event: string, properties: Record<string, unknown>, at: number, messageId?: string) => {
    await ingest.ingest({
      kind: 'track',
      body: {
        type: 'track',
        userId: userKey,
        event,
        properties,
        timestamp: new Date(at).toISOString(),
        ...(messageId ? { messageId } : {}),
      },
      source: 'nudge-engagement',
      receivedAt: Date.now(),
      bodyBytes: 0,
    })
  }
}

import { pushTo } from '../core/multimap.js'
import { ENGAGEMENT_EVENTS } from '../segments/ruleSchema.js'
import type { JourneyEvent } from '../journeys/matchEvent.js'
import type { SendLedgerReads } from '../journeys/sendLedgerReads.js'
import type { ConsentRecords } from '../ingest/identity/consentRecords.js'
import type { EmailContact, RecipientReads } from '../ingest/identity/recipientReads.js'
import type { EventReads } from '../ingest/eventReads.js'
import type { MembershipReads } from '../segments/membershipReads.js'
import type { SuppressionList } from './engagement/suppressions.js'
import { type PriorSend, UNCAPPED_TOPICS } from './sendDecision.js'
import type { SendRequest } from './sendRequest.js'

/** Where the pre-send check reads, each table through the module that owns it. */
export interface SendFactSources {
  /** journeys: the send ledger. */
  ledger: Pick<SendLedgerReads, 'entries'>
  /** ingest & identity: consent as stored. */
  consent: Pick<ConsentRecords, 'grants'>
  /** ingest: exit events and the user's bounces and complaints. */
  events: Pick<EventReads, 'ofUsers'>
  /** ingest & identity: addresses and traits. */
  recipients: Pick<RecipientReads, 'emails' | 'traits'>
  /** delivery: the suppression list. */
  suppressions: Pick<SuppressionList, 'activeForUsers'>
  /** segments: membership as stored. */
  memberships: Pick<MembershipReads, 'members'>
}

/** Everything read for one round of requests, by user (keys of consent and membership: see their repositories). */
export interface RoundFacts {
  statusOf: Map<string, string>
  capUsed: Map<string, PriorSend[]>
  sameStep: Map<string, PriorSend[]>
  grants: Map<string, boolean>
  events: Map<string, JourneyEvent[]>
  traits: Map<string, Record<string, unknown>>
  contacts: Map<string, EmailContact>
  suppressedHashes: Set<string>
  members: Set<string>
}

const SUPPRESSING = [ENGAGEMENT_EVENTS.complained, ENGAGEMENT_EVENTS.bounced]

/**
 * One round of reads for requests that arrived together: a handful of queries in parallel, not a
 * handful per send. The ledger is read for the messages asked about and for every send in the
 * cap and duplicate windows.
 */
export async function readRoundFacts(
  src: SendFactSources,
  reqs: readonly SendRequest[],
  now: number,
  windows: { capMs?: number; duplicateMs?: number },
): Promise<RoundFacts> {
  const keys = [...new Set(reqs.map((r) => r.userKey))]
  const ids = reqs.map((r) => r.messageId)
  const capSince = now - (windows.capMs ?? 0)
  const dupSince = now - (windows.duplicateMs ?? 0)
  const recentSince = Math.min(windows.capMs !== undefined ? capSince : now + 1, windows.duplicateMs ? dupSince : now + 1)
  const exitEvents = [...new Set(reqs.flatMap((r) => r.exit.flatMap((x) => (x.type === 'event' ? [x.event] : []))))]
  const since = Math.min(...reqs.map((r) => r.trigger.timestamp))
  const conditions = [...new Set(reqs.flatMap((r) => (r.condition ? [r.condition.segment] : [])))]
  const [ledger, grants, events, traits, contacts, suppressedHashes, members] = await Promise.all([
    src.ledger.entries(keys, ids, recentSince),
    src.consent.grants(keys),
    src.events.ofUsers(keys, { recent: exitEvents, since, ever: SUPPRESSING }),
    src.recipients.traits(keys),
    src.recipients.emails(keys),
    src.suppressions.activeForUsers(keys),
    src.memberships.members(conditions, keys),
  ])
  const asked = new Set(ids)
  const statusOf = new Map(ledger.filter((r) => asked.has(r.messageId)).map((r) => [r.messageId, r.status]))
  const capUsed = new Map<string, PriorSend[]>()
  const sameStep = new Map<string, PriorSend[]>()
  for (const r of ledger) {
    if (r.status !== 'sent' && r.status !== 'sending') continue
    if (r.firstAt >= capSince && !UNCAPPED_TOPICS.has(r.topic) && !r.test) pushTo(capUsed, r.userKey, { id: r.messageId, at: r.firstAt })
    if (r.firstAt >= dupSince) pushTo(sameStep, r.runStep, { id: r.messageId, at: r.firstAt })
  }
  const eventsOf = new Map<string, JourneyEvent[]>()
  for (const e of events) pushTo(eventsOf, e.userKey, { ...e, type: 'track', receivedAt: e.timestamp } satisfies JourneyEvent)
  return { statusOf, capUsed, sameStep, grants, events: eventsOf, traits, contacts, suppressedHashes, members }
}

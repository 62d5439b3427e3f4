import type { Store } from '../clickhouse/store.js'
import type { RecommendationBlock } from '../content/renderContext.js'
import { parseDuration } from '../core/duration.js'
import { Deliverer, type DelivererOptions } from '../delivery/deliver.js'
import { MessageExtrasWriter } from '../delivery/messageExtrasWriter.js'
import { SendGate } from '../delivery/sendGate.js'
import type { SendFactSources } from '../delivery/sendFacts.js'
import { SuppressionList } from '../delivery/engagement/suppressions.js'
import { SendLedgerReads } from '../journeys/sendLedgerReads.js'
import { ConsentRecords } from '../ingest/identity/consentRecords.js'
import { RecipientReads } from '../ingest/identity/recipientReads.js'
import { EventReads } from '../ingest/eventReads.js'
import { MembershipReads } from '../segments/membershipReads.js'
import type { ContactCipher } from '../core/contactCipher.js'
import type { ClickHouseClient } from '@clickhouse/client'
import type { MailTransport } from '../delivery/transport.js'
import type { TemplateStore } from '../content/templateStore.js'
import { inGlobalHoldout } from '../experiments/assign.js'
import { JourneyRecorder } from '../journeys/journeyRecorder.js'
import type { JourneyDepsIn } from './journeyDeps.js'

export interface SendPathIn {
  sendStore: Store
  templates: TemplateStore
  transport: MailTransport
  testUsers: ReadonlySet<string>
  outcomes: NonNullable<DelivererOptions['outcomes']>
  messages: NonNullable<DelivererOptions['messages']>
}

/**
 * The send path (processes that run the worker): run records, the pre-send check and the
 * deliverer. The pre-send check reads on a connection of its own: the embedded engine runs one
 * statement at a time per connection, and the recorder's group commits use the send path's.
 */
export async function buildSendPath(d: JourneyDepsIn, x: SendPathIn) {
  const { config } = d
  const recorder = new JourneyRecorder(x.sendStore.client, Date.now, (u, at) => d.tombstones.isLate([u], at))
  const gateStore = await d.openConnection()
  const gate = new SendGate({
    reads: sendFactSources(gateStore.client, d.cipher, d.lookupKey),
    consentDefaults: config.consentDefaults,
    frequencyCap: config.frequencyCap,
    capMode: config.FREQUENCY_CAP_MODE,
    priorityWindowMs: config.FREQUENCY_CAP_PRIORITY_WINDOW_MS,
    quietHours: config.quietHours,
    quietHoursTz: config.QUIET_HOURS_TZ,
    testUserIds: x.testUsers,
    testEmailPattern: config.testEmailPattern,
    isMember: (s, u) => d.segments.isMember(s, u),
    inGlobalHoldout: (u) => inGlobalHoldout(u, config.GLOBAL_HOLDOUT),
    softBounceLimit: config.SOFT_BOUNCE_LIMIT,
    duplicateWindowMs: parseDuration(config.DUPLICATE_WINDOW) ?? undefined,
    isErased: (u, triggeredAt) => d.tombstones.isLate([u], triggeredAt),
  })
  d.erasure.register({ name: 'send gate reservations', eraseUser: (s) => gate.forget(s.keys), knows: (s) => gate.knows(s.keys) })
  d.erasure.registerPendingWrites('journey records', () => recorder.settled())
  const extras = new MessageExtrasWriter(x.sendStore.client)
  d.erasure.registerPendingWrites('message bodies and codes', () => extras.settled())
  const deliverer = new Deliverer({
    gate,
    recorder,
    templates: x.templates,
    transport: x.transport,
    computed: async (u) => (await d.segments.profileOf(u)).computed,
    tracking: d.tracking,
    ...recommendationsFor(d),
    extras: { bodies: (row) => extras.body(row), codes: (row) => extras.code(row) },
    outcomes: x.outcomes,
    messages: x.messages,
  })
  d.erasure.registerPendingWrites('sends in flight', () => deliverer.settled())
  // A run of an erased person asked to send: refused by the gate, counted here.
  deliverer.observe((_req, r) => {
    if (r.reason === 'erased') d.tombstones.dropped('send')
  })
  return { recorder, gate, gateStore, deliverer }
}

/** The pre-send check's reads, each through the repository of the module that owns the table. */
function sendFactSources(client: ClickHouseClient, cipher: ContactCipher, lookupKey: Buffer): SendFactSources {
  return {
    ledger: new SendLedgerReads(client),
    consent: new ConsentRecords(client),
    events: new EventReads(client),
    recipients: new RecipientReads(client, cipher),
    suppressions: new SuppressionList(client, lookupKey),
    memberships: new MembershipReads(client),
  }
}

/** Recommendation blocks and behaviour for templates, where this process has them. */
function recommendationsFor(d: JourneyDepsIn): Pick<DelivererOptions, 'recommend' | 'behavior' | 'prepareUser'> {
  const recs = d.recommendations
  if (!recs) return {}
  return {
    recommend: (u: string, block: RecommendationBlock, productId?: string) =>
      recs.forUser(u, block, { ...(productId ? { productId } : {}) }),
    behavior: (u: string) => recs.behavior(u),
    // A worker-only process stores no events: it reads the user's behaviour before such a render.
    ...(d.role === 'worker' ? { prepareUser: (u: string) => recs.reloadUser(u) } : {}),
  }
}

import type { Client } from '@temporalio/client'
import type { ConsentState } from '../ingest/identity/consentState.js'
import type { IngestService } from '../ingest/ingestService.js'
import type { UserRepository } from '../ingest/identity/users.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import { type Store, type StoreOptions, openStore } from '../clickhouse/store.js'
import { TemplateStore } from '../content/templateStore.js'
import { parseDuration } from '../core/duration.js'
import { GroupInsert } from '../clickhouse/groupInsert.js'
import type { TrackingConfig } from '../delivery/composeMessage.js'
import { MessageLookup } from '../delivery/engagement/messageLookup.js'
import { OutcomeRecorder } from '../delivery/engagement/outcomes.js'
import { SuppressionList } from '../delivery/engagement/suppressions.js'
import type { RecommendationBlock } from '../content/renderContext.js'
import type { RecommendationService } from '../content/recommendations/service.js'
import type { ContactCipher } from '../core/contactCipher.js'
import { inGlobalHoldout } from '../experiments/assign.js'
import type { ExperimentService } from '../experiments/experimentService.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import { CaptureMailbox } from '../delivery/captureMailbox.js'
import { Deliverer } from '../delivery/deliver.js'
import { SendGate } from '../delivery/sendGate.js'
import { MailTransport } from '../delivery/transport.js'
import { JourneyRecorder } from '../journeys/journeyRecorder.js'
import { JourneyService } from '../journeys/journeyService.js'
import { RoutingProgress } from '../journeys/routingProgress.js'
import { scheduleFanOut } from '../journeys/scheduleFanOut.js'
import { TriggerRouter } from '../journeys/triggerRouter.js'
import { createJourneyActivities } from '../workflows/activities/journeyActivities.js'
import { JourneyRuns, runId } from '../workflows/client/journeyRuns.js'
import { reconcileSchedules } from '../workflows/client/journeySchedules.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { Tombstones } from '../ingest/erasure/tombstones.js'
import { ClickBursts } from '../delivery/engagement/clickBursts.js'
import type { Config } from './config.js'
import type { Role } from './nudge.js'

export interface JourneyDepsIn {
  config: Config
  role: Role
  store: Store
  storeOptions: StoreOptions
  temporal: Client
  /** Role `all`: a client on the worker's connection, for eager starts. */
  eagerTemporal?: Client
  segments: SegmentEngine
  experiments: ExperimentService
  flags: FlagService
  consent: ConsentState
  cipher: ContactCipher
  ingest?: IngestService
  users: UserRepository
  tracking: TrackingConfig
  /** Keyed hash of contact details (the suppression list is by address). */
  lookupKey: Buffer
  /** Recommendation blocks and behavioral flags for templates (in memory). */
  recommendations?: RecommendationService
  /** The writer's last stored batch (where routing starts on a fresh store). */
  storedSeq?: () => number
  /** Every cache and buffer of people's data here registers to be erased. */
  erasure: ErasureRegistry
  /** Tombstones of erased people: their mail's late signals and their runs' sends are dropped. */
  tombstones: Tombstones
  log: (msg: string, extra?: Record<string, unknown>) => void
}

/**
 * Journeys' composition: definitions, the trigger router (processes that ingest), and the send
 * path and activities (processes that run the worker). The send path gets a store connection of
 * its own, so pre-send checks never queue behind ingest inserts on the embedded engine.
 */
export async function buildJourneys(d: JourneyDepsIn) {
  const { config } = d
  const templates = new TemplateStore({ client: d.store.client, log: d.log })
  await templates.load()
  templates.start(Math.max(config.CONFIG_POLL_MS, 1000))
  const journeys = new JourneyService({
    client: d.store.client,
    pollMs: config.CONFIG_POLL_MS,
    log: d.log,
    catalog: {
      hasTemplate: (id) => templates.has(id),
      subjectProblem: (source) => templates.subjectProblem(source),
      flagType: (key) => (d.flags.has(key) ? d.flags.get(key).definition.type : undefined),
      hasSegment: (id) => d.segments.has(id),
      variantsOf: (key) => (d.experiments.has(key) ? d.experiments.get(key).definition.variants.map((v) => v.key) : undefined),
    },
  })
  await journeys.load()
  journeys.start()
  const runs = new JourneyRuns(d.temporal, config.TEMPORAL_TASK_QUEUE, d.eagerTemporal)
  const testUsers = new Set(config.TEST_USER_IDS)

  // The capture mailbox always runs: it is the embedded default and where test accounts' mail goes.
  const sendStore = d.role === 'api' ? d.store : await openStore(d.storeOptions)
  // The mailbox stands for a remote SMTP service: its writes get a connection of their own, so
  // they never queue behind (or hold up) the pre-send checks.
  const mailStore = d.role === 'api' ? d.store : await openStore(d.storeOptions)
  const mailbox = new CaptureMailbox(mailStore.client, d.log)
  d.erasure.registerPendingWrites('capture mailbox', () => mailbox.settled())
  const captureUrl = await mailbox.start(config.MAILBOX_SMTP_PORT)
  const transport = new MailTransport({ smtpUrl: config.SMTP_URL, captureUrl, from: config.MAIL_FROM })

  // Outcomes (delivered here; opens, clicks, unsubscribes and bounces at the API) and the
  // message lookup tracking needs. Where this process ingests, outcomes are also the user's events.
  const messages = new MessageLookup(sendStore.client)
  const clicks = new ClickBursts()
  d.erasure.register({
    name: 'message lookup cache',
    eraseUser: (s) => messages.forget(s.keys, s.messageIds),
    knows: (s) => messages.knows(s.keys, s.messageIds),
  })
  d.erasure.register({ name: 'click bursts', eraseUser: (s) => clicks.forget(s.messageIds), knows: (s) => clicks.knows(s.messageIds) })
  const suppressions = new SuppressionList(sendStore.client, d.lookupKey)
  const ingest = d.ingest
  const outcomes = new OutcomeRecorder(
    sendStore.client,
    ingest
      ? async (userKey, event, properties, at, messageId) => {
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
      : undefined,
    d.tombstones,
  )
  d.erasure.registerPendingWrites('message outcomes', () => outcomes.settled())

  let router: TriggerRouter | undefined
  let progress: RoutingProgress | undefined
  if (d.role !== 'worker') {
    router = new TriggerRouter({
      runs,
      journeys: () => journeys.list(),
      runId,
      isGranted: (u, topic) => d.consent.isGranted(u, topic),
      isTestUser: (u) => testUsers.has(u),
      isErased: (u, at) => d.tombstones.isLate([u], at),
      maxTriggerAgeMs: parseDuration(config.STALE_TRIGGER_MAX_AGE)!,
      log: d.log,
    })
    journeys.onChange(() => router!.reindex())
    // Schedule-triggered journeys: one Temporal Schedule each, kept in step with the definitions.
    let reconciling = Promise.resolve()
    const reconcile = (): Promise<void> =>
      (reconciling = reconciling
        .then(() => reconcileSchedules(d.temporal, config.TEMPORAL_TASK_QUEUE, journeys.list()))
        .catch((err) => {
          // Temporal busy or briefly away: try again shortly (the reconcile is idempotent).
          d.log('journey schedules not reconciled; retrying', { err: String(err) })
          setTimeout(() => void reconcile(), 1000).unref()
        }))
    journeys.onChange(() => void reconcile())
    await reconcile()
    progress = new RoutingProgress(sendStore.client, router, d.log)
    await progress.resume(d.storedSeq?.() ?? 0)
    progress.start()
    d.segments.onTransition((t) => router!.handleTransitions([t]))
  }

  let activities: ReturnType<typeof createJourneyActivities> | undefined
  let gate: SendGate | undefined
  let gateStore: Store | undefined
  let recorder: JourneyRecorder | undefined
  let deliverer: Deliverer | undefined
  if (d.role !== 'api') {
    recorder = new JourneyRecorder(sendStore.client, Date.now, (u, at) => d.tombstones.isLate([u], at))
    // Reads for the pre-send check on their own connection: the embedded engine runs one
    // statement at a time per connection, and the recorder's group commits use the other.
    gateStore = await openStore(d.storeOptions)
    gate = new SendGate({
      client: gateStore.client,
      cipher: d.cipher,
      consentDefaults: config.consentDefaults,
      frequencyCap: config.frequencyCap,
      capMode: config.FREQUENCY_CAP_MODE,
      priorityWindowMs: config.FREQUENCY_CAP_PRIORITY_WINDOW_MS,
      quietHours: config.quietHours,
      quietHoursTz: config.QUIET_HOURS_TZ,
      testUserIds: testUsers,
      testEmailPattern: config.testEmailPattern,
      isMember: (s, u) => d.segments.isMember(s, u),
      inGlobalHoldout: (u) => inGlobalHoldout(u, config.GLOBAL_HOLDOUT),
      softBounceLimit: config.SOFT_BOUNCE_LIMIT,
      duplicateWindowMs: parseDuration(config.DUPLICATE_WINDOW) ?? undefined,
      isErased: (u, triggeredAt) => d.tombstones.isLate([u], triggeredAt),
    })
    const sendGate = gate
    d.erasure.register({ name: 'send gate reservations', eraseUser: (s) => sendGate.forget(s.keys), knows: (s) => sendGate.knows(s.keys) })
    d.erasure.registerPendingWrites('journey records', () => recorder!.settled())
    const bodies = new GroupInsert<Record<string, unknown>>(sendStore.client, 'message_bodies')
    const codes = new GroupInsert<Record<string, unknown>>(sendStore.client, 'discount_codes')
    d.erasure.registerPendingWrites('message bodies and codes', async () => {
      await bodies.settled()
      await codes.settled()
    })
    const recs = d.recommendations
    deliverer = new Deliverer({
      gate,
      recorder,
      templates,
      transport,
      computed: async (u) => (await d.segments.profileOf(u)).computed,
      tracking: d.tracking,
      ...(recs
        ? {
            recommend: (u: string, block: RecommendationBlock, productId?: string) =>
              recs.forUser(u, block, { ...(productId ? { productId } : {}) }),
            behavior: (u: string) => recs.behavior(u),
          }
        : {}),
      // A worker-only process stores no events: it reads the user's behaviour before such a render.
      ...(recs && d.role === 'worker' ? { prepareUser: (u: string) => recs.reloadUser(u) } : {}),
      extras: { bodies: (row) => bodies.add(row), codes: (row) => codes.add(row) },
      outcomes,
      messages,
    })
    const sends = deliverer
    d.erasure.registerPendingWrites('sends in flight', () => sends.settled())
    // A run of an erased person asked to send: refused by the gate, counted here.
    deliverer.observe((_req, r) => {
      if (r.reason === 'erased') d.tombstones.dropped('send')
    })
    activities = createJourneyActivities({
      flags: d.flags,
      experiments: d.experiments,
      recorder,
      deliverer,
      defaultTimeZone: config.QUIET_HOURS_TZ,
      facts: async (u, want) => {
        const p = want.computed ? await d.segments.profileOf(u) : { segments: d.segments.segmentsOf(u), computed: {} }
        const traits = await d.users.traits([u])
        return { traits, segments: p.segments, computed: p.computed }
      },
      fanOut: scheduleFanOut({
        journeys,
        memberPage: (seg, after, limit) => d.segments.memberPage(seg, after, limit),
        isGranted: (u, t) => d.consent.isGranted(u, t),
        isTestUser: (u) => testUsers.has(u),
        runs,
      }),
      setTrait: async (u, key, value, messageId) => {
        if (d.ingest) {
          // Through ingest, as an identify: stored, deduplicated by message id, seen by segments.
          await d.ingest.ingest({
            kind: 'identify',
            body: { type: 'identify', userId: u, traits: { [key]: value }, messageId },
            source: 'journeys',
            receivedAt: Date.now(),
            bodyBytes: 0,
          })
        } else {
          await sendStore.client.insert({
            table: 'traits',
            format: 'JSONEachRow',
            values: [{ user_key: u, key, value: JSON.stringify(value), updated_at: Date.now(), message_id: messageId }],
          })
        }
      },
    })
  }

  return {
    store: sendStore,
    templates,
    tracking: d.tracking,
    recommendations: d.recommendations,
    computed: async (u: string) => (await d.segments.profileOf(u)).computed,
    messages,
    clicks,
    outcomes,
    suppressions,
    journeys,
    runs,
    router,
    gate,
    deliverer,
    mailbox,
    activities,
    // Shutdown comes in phases that the process's shutdown plan (runtime/nudge.ts) orders around
    // the worker's drain: send activities use all of this until the worker has drained.
    /** What the last sends wrote is stored (ledger, steps, outcomes). */
    async settleWrites() {
      await outcomes.settled()
      await recorder?.settled()
    },
    /** Runs for what is stored are started, and how far routing got is saved. */
    async settleRouting() {
      await router?.idle()
      await progress?.stop()
    },
    /** Definition and template polling. */
    stopPolling() {
      journeys.stop()
      templates.stop()
    },
    /** The mail transport's pooled connections, then the capture mailbox (its last rows stored). */
    async closeDelivery() {
      transport.close()
      await mailbox.stop()
    },
    /** The connections opened here (send path, mailbox, pre-send checks). */
    async closeStores() {
      if (sendStore !== d.store) await sendStore.close()
      if (mailStore !== d.store) await mailStore.close()
      await gateStore?.close()
    },
  }
}

export type Journeys = Awaited<ReturnType<typeof buildJourneys>>

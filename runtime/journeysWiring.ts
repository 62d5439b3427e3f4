import type { Client } from '@temporalio/client'
import type { ConsentState } from '../analytics/consentState.js'
import type { IngestService } from '../analytics/ingest/ingestService.js'
import type { IngestEvent } from '../analytics/ingest/types.js'
import type { UserRepository } from '../analytics/users.js'
import { parseJsonObject } from '../core/jsonText.js'
import type { SegmentEngine } from '../analytics/segments/segmentEngine.js'
import { type Store, type StoreOptions, openStore, selectRows } from '../analytics/store.js'
import { TemplateStore } from '../content/templateStore.js'
import type { ContactCipher } from '../core/contactCipher.js'
import { inGlobalHoldout } from '../experiments/assign.js'
import type { ExperimentService } from '../experiments/experimentService.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import { CaptureMailbox } from '../journeys/delivery/captureMailbox.js'
import { Deliverer } from '../journeys/delivery/deliver.js'
import { SendGate } from '../journeys/delivery/sendGate.js'
import { MailTransport } from '../journeys/delivery/transport.js'
import { JourneyRecorder } from '../journeys/journeyRecorder.js'
import { JourneyService } from '../journeys/journeyService.js'
import { TriggerRouter } from '../journeys/triggerRouter.js'
import { createJourneyActivities } from '../workflows/activities/journeyActivities.js'
import { JourneyRuns, runId } from '../workflows/journeyRuns.js'
import { reconcileSchedules } from '../workflows/journeySchedules.js'
import type { Config } from './config.js'
import type { Role } from './nudge.js'

export interface JourneyDepsIn {
  config: Config
  role: Role
  store: Store
  storeOptions: StoreOptions
  temporal: Client
  segments: SegmentEngine
  experiments: ExperimentService
  flags: FlagService
  consent: ConsentState
  cipher: ContactCipher
  ingest?: IngestService
  users: UserRepository
  /** The writer's last stored batch (where routing starts on a fresh store). */
  storedSeq?: () => number
  log: (msg: string, extra?: Record<string, unknown>) => void
}

/**
 * Journeys' composition: definitions, the trigger router (processes that ingest), and the send
 * path and activities (processes that run the worker). The send path gets a store connection of
 * its own, so pre-send checks never queue behind ingest inserts on the embedded engine.
 */
export async function buildJourneys(d: JourneyDepsIn) {
  const { config } = d
  const templates = new TemplateStore()
  const journeys = new JourneyService({
    client: d.store.client,
    pollMs: config.CONFIG_POLL_MS,
    log: d.log,
    catalog: {
      hasTemplate: (id) => templates.has(id),
      flagType: (key) => (d.flags.has(key) ? d.flags.get(key).definition.type : undefined),
      hasSegment: (id) => d.segments.has(id),
      variantsOf: (key) => (d.experiments.has(key) ? d.experiments.get(key).definition.variants.map((v) => v.key) : undefined),
    },
  })
  await journeys.load()
  journeys.start()
  const runs = new JourneyRuns(d.temporal, config.TEMPORAL_TASK_QUEUE)
  const testUsers = new Set(config.TEST_USER_IDS)

  // The capture mailbox always runs: it is the embedded default and where test accounts' mail goes.
  const sendStore = d.role === 'api' ? d.store : await openStore(d.storeOptions)
  // The mailbox stands for a remote SMTP service: its writes get a connection of their own, so
  // they never queue behind (or hold up) the pre-send checks.
  const mailStore = d.role === 'api' ? d.store : await openStore(d.storeOptions)
  const mailbox = new CaptureMailbox(mailStore.client, d.log)
  const captureUrl = await mailbox.start(config.MAILBOX_SMTP_PORT)
  const transport = new MailTransport({ smtpUrl: config.SMTP_URL, captureUrl, from: config.MAIL_FROM })

  let router: TriggerRouter | undefined
  let progress: NodeJS.Timeout | undefined
  if (d.role !== 'worker') {
    router = new TriggerRouter({
      runs,
      journeys: () => journeys.list(),
      runId,
      isGranted: (u, topic) => d.consent.isGranted(u, topic),
      isTestUser: (u) => testUsers.has(u),
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
    await resumeRouting(sendStore, router, d.storedSeq?.() ?? 0, d.log)
    progress = setInterval(() => void saveProgress(sendStore, router!).catch((err) => d.log('routing progress not saved', { err: String(err) })), 1000)
    progress.unref()
    d.segments.onTransition((t) => router!.handleTransitions([t]))
  }

  let activities: ReturnType<typeof createJourneyActivities> | undefined
  let gate: SendGate | undefined
  let gateStore: Store | undefined
  let recorder: JourneyRecorder | undefined
  let deliverer: Deliverer | undefined
  if (d.role !== 'api') {
    recorder = new JourneyRecorder(sendStore.client)
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
    })
    deliverer = new Deliverer({ gate, recorder, templates, transport, computed: async (u) => (await d.segments.profileOf(u)).computed })
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
      fanOut: async (journeyId, slot, beat) => {
        const j = journeys.has(journeyId) ? journeys.get(journeyId) : undefined
        const t = j?.definition.trigger
        if (!j || j.status !== 'active' || t?.type !== 'schedule') return 0
        let after = ''
        let started = 0
        for (;;) {
          const page = await d.segments.memberPage(t.segment, after, 500)
          const entering = page.filter((u) => d.consent.isGranted(u, j.definition.entry.consent))
          for (let i = 0; i < entering.length; i += 16)
            await Promise.all(
              entering.slice(i, i + 16).map((u) => {
                const trigger = { messageId: `schedule:${journeyId}:${slot}:${u}`, event: 'Scheduled', type: 'schedule', userKey: u, properties: { journey: journeyId }, timestamp: slot, receivedAt: slot }
                return runs.start(j.definition, j.version, u, trigger, { test: testUsers.has(u) })
              }),
            )
          started += entering.length
          beat()
          if (page.length < 500) return started
          after = page[page.length - 1]!
        }
      },
      setTrait: async (u, key, value, messageId) => {
        if (d.ingest) {
          // Through ingest, as an identify: stored, deduplicated by message id, seen by segments.
          await d.ingest.ingest({ kind: 'identify', body: { type: 'identify', userId: u, traits: { [key]: value }, messageId }, source: 'journeys', receivedAt: Date.now(), bodyBytes: 0 })
        } else {
          await sendStore.client.insert({ table: 'traits', format: 'JSONEachRow', values: [{ user_key: u, key, value: JSON.stringify(value), updated_at: Date.now(), message_id: messageId }] })
        }
      },
    })
  }

  return {
    store: sendStore,
    templates,
    journeys,
    runs,
    router,
    gate,
    deliverer,
    mailbox,
    activities,
    async stop() {
      journeys.stop()
      clearInterval(progress)
      await router?.idle()
      if (router) await saveProgress(sendStore, router).catch(() => undefined)
      await recorder?.settled()
      transport.close()
      await mailbox.stop()
      if (sendStore !== d.store) await sendStore.close()
      if (mailStore !== d.store) await mailStore.close()
      await gateStore?.close()
    },
  }
}

const savedSeqs = new WeakMap<TriggerRouter, number>()
async function saveProgress(store: Store, router: TriggerRouter): Promise<void> {
  const seq = router.routedSeq
  if (seq <= (savedSeqs.get(router) ?? -1)) return
  await store.client.insert({ table: 'journey_router_progress', format: 'JSONEachRow', values: [{ seq, at: Date.now() }] })
  savedSeqs.set(router, seq)
}

/**
 * After a restart, routes again what was stored but not fully routed before it (a crash between
 * the store's acknowledgement and Temporal's): triggers whose runs already recorded their start
 * are not started twice; signals are harmless twice (runs ignore messages they have seen).
 */
async function resumeRouting(store: Store, router: TriggerRouter, storedSeq: number, log: (msg: string, extra?: Record<string, unknown>) => void): Promise<void> {
  const [p] = await selectRows<{ s: number | string; n: number | string }>(store.client, 'SELECT max(seq) AS s, count() AS n FROM journey_router_progress')
  if (!Number(p?.n)) {
    // A new store (or one from before routing was tracked): nothing earlier is replayed.
    router.resumeFrom(storedSeq)
    await saveProgress(store, router)
    return
  }
  const from = Number(p!.s)
  router.resumeFrom(from)
  const rows = await selectRows<{ message_id: string; type: string; event: string; user_key: string; properties: string; context: string; ts: string; received: string; seq: string }>(
    store.client,
    `SELECT message_id, type, event, user_key, properties, context, toUnixTimestamp64Milli(timestamp) AS ts, toUnixTimestamp64Milli(received_at) AS received, ingest_seq AS seq
     FROM events WHERE ingest_seq > {from:UInt64} ORDER BY ingest_seq, timestamp LIMIT 200000`,
    { from },
  )
  if (!rows.length) return
  const started = new Set(
    (await selectRows<{ id: string }>(store.client, 'SELECT DISTINCT trigger_message_id AS id FROM journey_runs WHERE trigger_message_id IN {ids:Array(String)}', { ids: rows.map((r) => r.message_id) })).map((r) => r.id),
  )
  const bySeq = new Map<number, IngestEvent[]>()
  for (const r of rows) {
    const e = { messageId: r.message_id, type: r.type, event: r.event, userKey: r.user_key, properties: parseJsonObject(r.properties), context: parseJsonObject(r.context), timestamp: Number(r.ts), receivedAt: Number(r.received) } as unknown as IngestEvent
    const list = bySeq.get(Number(r.seq))
    if (list) list.push(e)
    else bySeq.set(Number(r.seq), [e])
  }
  for (const [seq, events] of bySeq) router.handleStored(events, [], seq, started)
  log('journey routing resumed after a restart', { batches: bySeq.size, events: rows.length, alreadyStarted: started.size })
}

export type Journeys = Awaited<ReturnType<typeof buildJourneys>>

import { type SegmentCondition, triggerCondition } from '../journeys/triggerCondition.js'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker'
import { createApp } from '../api/app.js'
import type { HealthReport } from '../api/routes/health.js'
import { ConsentState } from '../ingest/identity/consentState.js'
import { EventWriter } from '../ingest/eventWriter.js'
import { IngestService } from '../ingest/ingestService.js'
import { makeKeyMatcher } from '../ingest/minimize.js'
import { migrate } from '../clickhouse/migrate.js'
import { type Store, openStore } from '../clickhouse/store.js'
import { SegmentEngine } from '../segments/segmentEngine.js'
import { UserRepository } from '../ingest/identity/users.js'
import { Eraser } from '../ingest/erasure/eraser.js'
import { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import { Tombstones } from '../ingest/erasure/tombstones.js'
import { createContactCipher } from '../core/contactCipher.js'
import { ExperimentService } from '../experiments/experimentService.js'
import { FlagService } from '../experiments/flags/flagService.js'
import { NudgeFlagProvider } from '../experiments/flags/openFeatureProvider.js'
import { OpenFeature } from '@openfeature/server-sdk'
import { createActivities } from '../workflows/activities/healthcheckActivities.js'
import { ensureSearchAttributes, missingSearchAttributesError } from '../workflows/worker/searchAttributesSetup.js'
import { createWorker } from '../workflows/worker/worker.js'
import type { Config } from './config.js'
import type { Logger } from '../core/log.js'
import { type Journeys, buildJourneys } from './journeysWiring.js'
import { addJourneyMetrics, addRefusedRowsMetric, createMetrics } from './metrics.js'
import type { HttpGet } from '../delivery/webhooks/snsSignature.js'
import { loadSecrets } from './secrets.js'
import { RecommendationService } from '../content/recommendations/service.js'
import { ExperimentResults } from '../analytics/results/resultsService.js'
import { holdoutReport } from '../analytics/results/holdoutReport.js'
import { FalseTriggerMonitor } from '../analytics/reports/falseTriggerMonitor.js'
import type { DetectOptions } from '../analytics/reports/falseTriggers.js'
import type { ClickHouseClient } from '@clickhouse/client'
import { collectReport } from '../analytics/reports/collectReport.js'
import { renderHtmlReport } from '../analytics/reports/htmlReport.js'
import { parseDuration } from '../core/duration.js'
import { Counter } from 'prom-client'
import { type ShutdownStep, runShutdownPlan } from './shutdownPlan.js'

/**
 * The composition root: builds every adapter from the config and hands them to the pure parts.
 * Roles: `all` (embedded: API + worker in one process), `api`, `worker` (scaled mode).
 */
export type Role = 'all' | 'api' | 'worker'

export interface NudgeOptions {
  config: Config
  role: Role
  temporalAddress: string
  log: Logger
  /** Listen on config.PORT (default) or on this port; 0 picks a free one. */
  port?: number
  /** How webhook verification fetches SNS certificates and SubscribeURLs (tests: a loopback server); default: https fetch. */
  webhookHttpGet?: HttpGet
}

export interface RunningNudge {
  url?: string
  store: Store
  writer: EventWriter
  consent: ConsentState
  users: UserRepository
  segments: SegmentEngine
  experiments: ExperimentService
  flags: FlagService
  journeys: Journeys
  recommendations: RecommendationService
  /** Erasure: every in-memory holder of people's data (registry), the tombstones, the erasure itself. */
  erasure: { registry: ErasureRegistry; tombstones: Tombstones; eraser: Eraser }
  falseTriggers: FalseTriggerMonitor
  /** What false-trigger checks compare sends with (journeys' exits and the policies in force). */
  falseTriggerOptions: () => Omit<DetectOptions, 'from' | 'until'>
  results: ExperimentResults
  /** The connection reports and results read on. */
  reportsClient: ClickHouseClient
  /** Role `all` with TEMPORAL_EAGER_START: a client that starts runs on this process's worker. */
  eagerTemporal?: Client
  temporal: Client
  worker?: Worker
  health(): Promise<HealthReport>
  /** The ordered shutdown (a host appends its own last steps, e.g. the Temporal dev server). */
  shutdownSteps: readonly ShutdownStep[]
  /**
   * Runs shutdownSteps, then the host's `after` steps (e.g. the dev server), once — a second call
   * gets the first one's promise; rejects (after running them all) if a step failed or overran.
   */
  stop(after?: readonly ShutdownStep[]): Promise<void>
}

export async function startNudge(opts: NudgeOptions): Promise<RunningNudge> {
  const { config, log, role } = opts
  const embeddedStore = config.mode.clickhouse === 'embedded'
  const secrets = loadSecrets(
    {
      encryptionKey: config.NUDGE_ENCRYPTION_KEY,
      linkSigningKey: config.NUDGE_LINK_SIGNING_KEY,
      previousLinkSigningKeys: config.NUDGE_LINK_SIGNING_KEY_PREVIOUS,
      dataDir: config.DATA_DIR,
      embedded: embeddedStore,
    },
    log.warn,
  )
  const cipher = createContactCipher(secrets.encryptionKey)

  const storeOptions = {
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    dataDir: join(config.DATA_DIR, 'clickhouse'),
  }
  const store = await openStore(storeOptions)
  const applied = await migrate(store.client)
  log.info('store ready', { store: store.describe, migrationsApplied: applied })

  const consent = new ConsentState(config.consentDefaults)
  await consent.load(store.client)
  // Erased people's ids (keyed hashes): late signals and retried events of them are dropped.
  const tombstones = new Tombstones(store.client, secrets.erasureSalt)
  await tombstones.load()
  // With a shared ClickHouse another process may erase: follow its tombstones (a worker's send gate needs them).
  if (config.mode.clickhouse === 'external') tombstones.follow(Math.max(config.CONFIG_POLL_MS, 1000), log.warn)
  const erasure = new ErasureRegistry()
  erasure.register({ name: 'tombstone check cache', eraseUser: () => {}, knows: (s) => tombstones.holdsRaw(s.keys) })
  erasure.register({
    name: 'consent state',
    eraseUser: (s) => consent.forget(s.keys),
    knows: (s) => s.keys.some((k) => consent.recorded(k).size > 0),
  })
  const writer = new EventWriter({
    erased: tombstones,
    client: store.client,
    consent,
    cipher,
    lookupKey: secrets.lookupKey,
    maxBatchRows: config.INGEST_MAX_BATCH_ROWS,
    lingerMs: config.INGEST_LINGER_MS,
    maxQueuedRows: config.INGEST_MAX_QUEUED_ROWS,
    dedupeWindow: config.DEDUPE_WINDOW_IDS,
    log: log.warn,
  })
  writer.onFlush((s) => log.debug('ingest flush', { ...s }))
  const memoryLog = setInterval(() => {
    const m = process.memoryUsage()
    log.debug('memory', {
      rssMb: Math.round(m.rss / 1e6),
      heapMb: Math.round(m.heapUsed / 1e6),
      externalMb: Math.round(m.external / 1e6),
      queued: writer.queueDepth,
    })
  }, 5000)
  memoryLog.unref()
  if (role !== 'worker') {
    const remembered = await writer.warmUp()
    log.debug('dedupe window warmed', { ids: remembered })
  }
  erasure.register({ name: 'ingest identity links', eraseUser: (s) => writer.forgetLinks(s.keys), knows: (s) => writer.knowsLinks(s.keys) })
  const users = new UserRepository(store.client, cipher, consent, secrets.erasureSalt)

  // The embedded engine runs one statement at a time per connection; segment evaluation gets a
  // connection of its own so it never queues behind ingest inserts (and the reverse). A worker
  // process neither ingests nor evaluates segments.
  const segmentStore = role === 'worker' ? store : await openStore(storeOptions)
  const segments = new SegmentEngine({
    client: segmentStore.client,
    computed: { purchaseEvent: config.PURCHASE_EVENT, loyaltyTiers: config.loyaltyTiers },
    consentDefaults: config.consentDefaults,
    sweepIntervalMs: config.SEGMENT_SWEEP_INTERVAL_MS,
    batchMs: config.SEGMENT_BATCH_MS,
    log: log.warn,
    ...(role !== 'worker' && liveSegments(config)
      ? { live: { storedSeq: () => writer.storedSeq, pauseWrites: (fn) => writer.exclusive(fn) } }
      : {}),
  })
  if (role !== 'worker') {
    // Following first, then loading: whatever is stored while facts load is replayed onto them.
    writer.onStored((events, consentChanges, rows) => segments.handleStored(events, consentChanges, rows))
    await segments.load()
    if (config.SEGMENT_SWEEP_INTERVAL_MS > 0) segments.start()
  } else {
    // A worker reads membership (journey conditions, flag and experiment targeting); it follows
    // what the ingesting process records.
    await segments.load()
    segments.follow(config.CONFIG_POLL_MS)
  }
  erasure.register({
    name: 'segment membership and live facts',
    eraseUser: (s) => segments.forget(s.keys),
    knows: (s) => segments.knows(s.keys),
  })
  const metrics = createMetrics({ writer, segments, erased: tombstones })

  // Experiments and flags: in memory everywhere (assignment and evaluation need no I/O), following
  // changes other processes make. Code asks for flags through OpenFeature.
  const isMember = (segmentId: string, unit: string) => segments.isMember(segmentId, unit)
  const experiments = new ExperimentService({
    client: store.client,
    globalHoldout: config.GLOBAL_HOLDOUT,
    isMember,
    pollMs: config.CONFIG_POLL_MS,
    log: log.warn,
  })
  await experiments.load()
  experiments.start()
  erasure.register({
    name: 'experiment exposures seen',
    eraseUser: (s) => experiments.forgetUnits(s.keys),
    knows: (s) => experiments.knowsUnit(s.keys),
  })
  erasure.registerPendingWrites('experiment exposures', () => experiments.flush())
  const flags = new FlagService({
    client: store.client,
    deps: { isMember, assign: (key, unit, context) => (experiments.has(key) ? experiments.assign(key, unit, context) : undefined) },
    pollMs: config.CONFIG_POLL_MS,
    log: log.warn,
  })
  await flags.load()
  flags.start()
  await OpenFeature.setProviderAndWait(new NudgeFlagProvider(flags))

  const connection = await Connection.connect({ address: opts.temporalAddress })
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE })
  const ingest =
    role !== 'worker'
      ? new IngestService({ writer, dropKey: makeKeyMatcher(config.DROP_PROPERTY_KEYS), consentCategoryMap: config.consentCategoryMap })
      : undefined
  // The worker's connection exists before the router, so the router can start runs eagerly on it.
  let nativeConnection: NativeConnection | undefined
  if (role !== 'api') {
    installTemporalRuntime(config.LOG_LEVEL, config.TEMPORAL_METRICS_PORT)
    nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress })
  }
  const eagerTemporal =
    role === 'all' && config.TEMPORAL_EAGER_START
      ? new Client({ connection: nativeConnection!, namespace: config.TEMPORAL_NAMESPACE })
      : undefined
  // Recommendations and behavioral flags for templates: in memory, fed by every stored batch; the
  // history and the store-wide aggregates load in the background on a connection of their own.
  const recsStore = await openStore(storeOptions)
  const recommendations = new RecommendationService({ client: recsStore.client, log: log.warn })
  erasure.register({
    name: 'recommendations behaviour index',
    eraseUser: (s) => recommendations.forgetUsers(s.keys),
    knows: (s) => recommendations.knowsUser(s.keys),
  })
  if (role !== 'worker') writer.onStored((events, _consent, rows) => recommendations.onStored(events, rows.seq))
  const recsLoaded = recommendations
    .load()
    .then(() => recommendations.start())
    .catch((err) => log.warn('recommendations did not load; blocks fall back until the next refresh', { err: String(err) }))

  // Links in mail point at PUBLIC_URL, or at this process once it listens (embedded default).
  let listening: string | undefined
  const tracking = {
    publicUrl: () => config.PUBLIC_URL ?? listening ?? `http://127.0.0.1:${config.PORT}`,
    key: secrets.linkSigningKey,
    previousKeys: secrets.previousLinkSigningKeys,
    opens: config.TRACK_OPENS,
    clicks: config.TRACK_CLICKS,
    mailDomain: /@([^>\s]+)/.exec(config.MAIL_FROM)?.[1] ?? 'nudge.local',
  }
  const journeys = await buildJourneys({
    config,
    role,
    store,
    storeOptions,
    temporal,
    eagerTemporal,
    tracking,
    lookupKey: secrets.lookupKey,
    recommendations,
    segments,
    experiments,
    flags,
    consent,
    cipher,
    ingest,
    users,
    storedSeq: () => writer.storedSeq,
    erasure,
    tombstones,
    log: log.warn,
  })
  const eraser = new Eraser({
    users,
    tombstones,
    registry: erasure,
    // Anything of this user's still queued lands before the delete, or it would survive it.
    settleIngest: async () => {
      await writer.drain()
      await segments.idle(3)
      // Starts already queued for this user are made (and then deleted below) or, asked after
      // the tombstone, not made; bounded, since a slow Temporal retries with back-off.
      if (journeys.router) await Promise.race([journeys.router.idle(), new Promise((r) => setTimeout(r, 10_000).unref())])
    },
    // Their journeys end: no step may send, record or look them up after the erasure.
    endRuns: async (keys) => {
      // Deleted, not only ended: a run's history (trigger properties, activity inputs and results)
      // and its UserId search attribute would stay readable until the namespace's retention ends.
      // Deleting a running run ends it at once; Temporal removes a closed one shortly after.
      for (const k of keys) await journeys.runs.deleteUserRuns(k)
      // A second look, a moment later: a run whose start the router had already made when the
      // tombstone was written may show in visibility only now (later starts are refused by it).
      for (const k of keys) await journeys.runs.terminateUserRuns(k, 'user erased')
    },
  })
  addJourneyMetrics(metrics.registry, journeys)
  addRefusedRowsMetric(metrics.registry, { experiment_exposures: () => experiments.refusedExposures })
  // Runs hear only of what is stored: the router follows the writer, after segments.
  if (journeys.router) writer.onStored((events, consentChanges, rows) => journeys.router!.handleStored(events, consentChanges, rows.seq))
  // A cluster that will not list them is given the benefit of the doubt; one that lists them
  // missing and will not take them stops the start here, with what to run.
  const missingAttributes = missingSearchAttributesError(
    await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE).catch(() => []),
    config.TEMPORAL_NAMESPACE,
  )
  if (missingAttributes) throw missingAttributes

  // With a shared ClickHouse, other replicas write consent too: catch up with them. Embedded,
  // every write goes through this process and the state is always current.
  const consentRefresh =
    config.mode.clickhouse === 'external'
      ? setInterval(() => void consent.load(store.client).catch((err) => log.warn('consent refresh failed', { err: String(err) })), 2000)
      : undefined
  consentRefresh?.unref()

  let worker: Worker | undefined
  let workerRun: Promise<void> | undefined
  let workerError: unknown
  const graceMs = parseDuration(config.SHUTDOWN_GRACE)!
  if (role !== 'api') {
    worker = await createWorker({
      connection: nativeConnection!,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities: { ...createActivities({ client: store.client }), ...journeys.activities! },
      shutdownGraceMs: graceMs,
      shutdownForceMs: graceMs + WORKER_FORCE_AFTER_GRACE_MS,
    })
    workerRun = worker.run().catch((err) => {
      workerError = err
      log.error('worker stopped with an error', { err: String(err) })
    })
    log.info('worker running', { taskQueue: config.TEMPORAL_TASK_QUEUE })
  }

  // False triggers: what every check compares sends with (journeys' exits, the policies in force).
  const detectOptions = () => ({
    journeys: journeys.journeys.list().map((j) => ({
      id: j.definition.id,
      ...(j.definition.entry.correlationKey ? { correlationKey: j.definition.entry.correlationKey } : {}),
      exits: j.definition.exit.flatMap((x) => (x.type === 'event' ? [{ event: x.event, match: x.match }] : [])),
      ...withCondition(triggerCondition(j.definition.trigger)),
    })),
    staleMs: parseDuration(config.STALE_TRIGGER_MAX_AGE)!,
    duplicateWindowMs: parseDuration(config.DUPLICATE_WINDOW)!,
    quietHoursTz: config.QUIET_HOURS_TZ,
    ...(config.quietHours ? { quietHours: config.quietHours } : {}),
    ...(config.frequencyCap ? { frequencyCap: config.frequencyCap } : {}),
  })
  const falseTriggerCount = new Counter({
    name: 'nudge_false_triggers_total',
    help: 'False triggers found in sends, by class and journey',
    labelNames: ['class', 'journey'],
    registers: [metrics.registry],
  })
  const falseTriggers = new FalseTriggerMonitor({
    client: recsStore.client,
    options: detectOptions,
    intervalMs: role === 'worker' ? 0 : config.FALSE_TRIGGER_CHECK_MS,
    onFinding: (f) => falseTriggerCount.inc({ class: f.class, journey: f.journeyId }),
    isErasedMessage: (id) => tombstones.isErasedMessage(id),
    log: log.error,
  })
  falseTriggers.start()
  erasure.registerPendingWrites('false-trigger check', () => falseTriggers.settled())

  const health = async (): Promise<HealthReport> => {
    const checks: HealthReport['checks'] = { api: { ok: true } }
    checks.store = { ok: await store.ping() }
    if (worker) checks.worker = { ok: worker.getState() === 'RUNNING', detail: worker.getState() }
    else {
      const ok = await connection.workflowService.getSystemInfo({}).then(
        () => true,
        () => false,
      )
      checks.temporal = { ok }
    }
    return { ok: Object.values(checks).every((c) => c.ok), checks }
  }

  // Results and reports read much: on the recommendations' connection (not the ingest one).
  const results = new ExperimentResults({ client: recsStore.client, experiments, testUsers: config.TEST_USER_IDS })

  let server: Server | undefined
  let url: string | undefined
  if (role !== 'worker') {
    const holdout = (q: { from: number; until: number; windowDays: number }) =>
      holdoutReport(recsStore.client, { ...q, purchaseEvent: config.PURCHASE_EVENT, revenueProperty: 'revenue', alpha: 0.05 })
    const app = createApp({
      writeKeys: config.writeKeys,
      adminKey: config.ADMIN_API_KEY,
      previousAdminKeys: config.ADMIN_API_KEY_PREVIOUS ?? [],
      webhookKey: config.WEBHOOK_KEY,
      webhookSignatures: {
        ...(config.SENDGRID_WEBHOOK_PUBLIC_KEY ? { sendGridPublicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY } : {}),
        snsTopicArns: config.SNS_TOPIC_ARNS,
        maxAgeMs: config.webhookMaxAgeMs,
        ...(opts.webhookHttpGet ? { httpGet: opts.webhookHttpGet } : {}),
      },
      trustProxy: config.trustProxy,
      ...(config.METRICS_KEY ? { metricsKey: config.METRICS_KEY } : {}),
      results,
      holdout,
      reports: {
        client: recsStore.client,
        slo: config.latencySlo,
        detect: detectOptions,
        html: async (range) =>
          renderHtmlReport(
            await collectReport({
              client: recsStore.client,
              results,
              experimentKeys: experiments
                .list()
                .filter((e) => e.status !== 'draft')
                .map((e) => e.definition.key),
              slo: config.latencySlo,
              detect: detectOptions(),
              ...range,
              links: reportLinks(config, listening),
            }),
          ),
      },
      ingest: ingest!,
      writer,
      users,
      eraser,
      consent,
      segments,
      experiments,
      flags,
      journeys,
      health,
      metrics,
      log: log.error,
    })
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(opts.port ?? config.PORT, config.HOST, () => resolve(s))
      s.once('error', reject)
    })
    // Segment clients keep connections alive; a long keep-alive avoids reconnect storms under load.
    server.keepAliveTimeout = 65_000
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : config.PORT
    url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`
    listening = url
    log.info('API listening', { url })
  }

  // The shutdown plan: one ordered list (see runShutdownPlan). What a step closes, no earlier
  // step needs: send activities use the writer, the stores, the mail transport, segments and the
  // Temporal connections, so all of those stay open until the worker has drained.
  const shutdownSteps: ShutdownStep[] = [
    { name: 'stop accepting HTTP requests', timeoutMs: HTTP_CLOSE_MS + 2000, run: () => closeServer(server) },
    { name: 'store accepted events', timeoutMs: 10_000, run: () => writer.drain() },
    {
      name: 'stop routing',
      timeoutMs: ROUTE_GRACE_MS + 1000,
      run: async () => {
        const router = journeys.router
        if (!router) return
        // Runs for stored triggers (and the segment entries they cause) start while there is
        // time; the rest of the stored triggers are routed again from the store after a restart
        // (routing progress stays before them). Calls already made finish while the worker drains.
        await Promise.race([segments.idle().then(() => router.idle()), new Promise((r) => setTimeout(r, ROUTE_GRACE_MS).unref())])
        const left = router.stop()
        if (left) log.info('routing stopped; the rest is routed again after a restart', { left })
      },
    },
    { name: 'drain the worker (in-flight sends finish)', timeoutMs: graceMs + WORKER_FORCE_AFTER_GRACE_MS + 2000, run: drainWorker },
    {
      // Run starts made before routing stopped have finished during the drain.
      name: 'store what the last sends wrote',
      timeoutMs: 10_000,
      run: async () => {
        await journeys.router?.idle()
        await journeys.settleWrites()
        // Closing the writer stores what activities ingested (traits, outcomes as events);
        // segments see it; routing progress is saved before it (routed after a restart).
        await writer.close()
        await segments.stop()
        await journeys.settleRouting()
      },
    },
    {
      name: 'stop background work',
      timeoutMs: 10_000,
      run: async () => {
        clearInterval(consentRefresh)
        tombstones.stop()
        clearInterval(memoryLog)
        journeys.stopPolling()
        flags.stop()
        await experiments.stop()
        await falseTriggers.stop()
        await recsLoaded
        await recommendations.stop()
      },
    },
    { name: 'close the mail transport and capture mailbox', timeoutMs: 5000, run: () => journeys.closeDelivery() },
    {
      name: 'close Temporal connections',
      timeoutMs: 5000,
      run: async () => {
        await nativeConnection?.close()
        await connection.close()
      },
    },
    {
      name: 'close stores',
      timeoutMs: 10_000,
      run: async () => {
        await journeys.closeStores()
        await recsStore.close()
        if (segmentStore !== store) await segmentStore.close()
        await store.close()
      },
    },
  ]
  async function drainWorker(): Promise<void> {
    if (!worker) return
    const t0 = Date.now()
    if (worker.getState() === 'RUNNING') worker.shutdown()
    await workerRun
    if (!workerError) return
    const why = workerError instanceof Error ? workerError.message : String(workerError)
    // Past the force time the SDK gives up on activities that ignored cancellation: their runs
    // retry them after a restart (a send by its message id, which the ESP dedupes).
    throw new Error(
      Date.now() - t0 >= graceMs + WORKER_FORCE_AFTER_GRACE_MS
        ? `not drained within SHUTDOWN_GRACE + ${WORKER_FORCE_AFTER_GRACE_MS} ms (${why})`
        : why,
    )
  }

  let stopping: Promise<void> | undefined
  const stop = (after: readonly ShutdownStep[] = []) =>
    (stopping ??= runShutdownPlan([...shutdownSteps, ...after], log).then(() => undefined))

  return {
    url,
    store,
    writer,
    consent,
    users,
    segments,
    experiments,
    flags,
    journeys,
    recommendations,
    erasure: { registry: erasure, tombstones, eraser },
    falseTriggers,
    falseTriggerOptions: detectOptions,
    results,
    reportsClient: recsStore.client,
    temporal,
    eagerTemporal,
    worker,
    health,
    shutdownSteps,
    stop,
  }
}

/** In-flight HTTP requests get this long to finish once the server stops accepting; then their connections are closed. */
const HTTP_CLOSE_MS = 3000
/** How long a stop lets queued run starts go on before leaving them to the next start. */
const ROUTE_GRACE_MS = 2000
/** The worker is forced down this long after its grace period (activities that ignored cancellation). */
const WORKER_FORCE_AFTER_GRACE_MS = 2000

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  // Keep-alive connections with no request in flight would hold close() open: end them now.
  server.closeIdleConnections()
  const force = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_MS)
  await closed
  clearTimeout(force)
}

const withCondition = (c: SegmentCondition | undefined) => (c ? { segment: { id: c.segment, member: c.member } } : {})

let runtimeInstalled = false
/**
 * The SDK would otherwise shut workers down on SIGINT/SIGTERM by itself, before the API has
 * stopped accepting and the writer has flushed; Nudge orders the shutdown itself.
 */
function installTemporalRuntime(level: Config['LOG_LEVEL'], metricsPort?: number): void {
  if (runtimeInstalled) return
  runtimeInstalled = true
  try {
    Runtime.install({
      shutdownSignals: [],
      // The worker's own metrics (workflow task failures, schedule-to-start latency, slots) for Prometheus.
      ...(metricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } } } : {}),
      logger: new DefaultLogger(level === 'debug' ? 'DEBUG' : level === 'info' ? 'INFO' : level === 'warn' ? 'WARN' : 'ERROR'),
    })
  } catch {
    // Already installed by the host (e.g. a test harness): keep theirs.
  }
}

/** Where an operator looks next: the Temporal UI, the API docs, the captured mail, Grafana's provisioning. */
export function reportLinks(config: Config, url?: string): { label: string; url: string }[] {
  const base = config.PUBLIC_URL ?? url ?? `http://127.0.0.1:${config.PORT}`
  return [
    { label: 'Temporal UI (journey runs, search by JourneyId / UserId)', url: `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` },
    { label: 'API documentation (OpenAPI)', url: `${base}/docs` },
    { label: 'Captured mail', url: `${base}/messages` },
    {
      label: 'Grafana dashboards and alerts as code (npm run dashboards → dashboards/out/)',
      url: 'https://grafana.com/docs/grafana/latest/administration/provisioning/',
    },
  ]
}

/** Live segment evaluation needs every stored event to pass through this one process. */
function liveSegments(config: Config): boolean {
  return config.SEGMENT_EVALUATION === 'live' || (config.SEGMENT_EVALUATION === 'auto' && config.mode.clickhouse === 'embedded')
}

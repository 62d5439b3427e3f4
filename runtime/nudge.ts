import type { Client } from '@temporalio/client'
import type { Worker } from '@temporalio/worker'
import type { ClickHouseClient } from '@clickhouse/client'
import type { HealthReport } from '../api/routes/health.js'
import type { ConsentState } from '../ingest/identity/consentState.js'
import type { EventWriter } from '../ingest/eventWriter.js'
import { IngestService } from '../ingest/ingestService.js'
import { makeKeyMatcher } from '../ingest/minimize.js'
import type { Store } from '../clickhouse/store.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import type { UserRepository } from '../ingest/identity/users.js'
import type { Eraser } from '../ingest/erasure/eraser.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { Tombstones } from '../ingest/erasure/tombstones.js'
import type { ExperimentService } from '../experiments/experimentService.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import type { RecommendationService } from '../content/recommendations/service.js'
import { ExperimentResults } from '../analytics/results/resultsService.js'
import type { FalseTriggerMonitor } from '../analytics/reports/falseTriggerMonitor.js'
import type { HttpGet } from '../delivery/webhooks/snsSignature.js'
import { parseDuration } from '../core/duration.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import type { Role } from './role.js'
import { type DataParts, startData } from './dataWiring.js'
import { type TemporalConnections, connectTemporal, requireSearchAttributes } from './temporalWiring.js'
import { startRecommendations } from './recommendationsWiring.js'
import { trackingConfig } from './trackingConfig.js'
import { type JourneyDepsIn, type Journeys, buildJourneys } from './journeysWiring.js'
import { buildEraser } from './erasureWiring.js'
import { addJourneyMetrics, addRefusedRowsMetric } from './metrics.js'
import { followConsent } from './identityWiring.js'
import { type RunningWorker, startWorker } from './workerWiring.js'
import { type FalseTriggerOptions, falseTriggerOptions, startFalseTriggers } from './falseTriggersWiring.js'
import { healthCheck } from './health.js'
import { startHttp } from './httpWiring.js'
import { shutdownSteps } from './shutdownSteps.js'
import { type ShutdownStep, runShutdownPlan } from './shutdownPlan.js'
import { startupStep } from './startupStep.js'
import { type Destinations, startDestinations } from './destinationsWiring.js'
import { type Bus, startBus, startConsumer, withBusSteps } from './kafkaWiring.js'

export type { Role } from './role.js'
export { reportLinks } from './reportLinks.js'

/**
 * The composition root: builds every adapter from the config and hands them to the pure parts.
 * Roles: `all` (embedded: API + worker in one process), `api`, `worker` (scaled mode).
 */
export interface NudgeOptions {
  config: Config
  role: Role
  temporalAddress: string
  log: Logger
  /** Listen on config.PORT (default) or on this port; 0 picks a free one. */
  port?: number
  /** How webhook verification fetches SNS certificates and SubscribeURLs (tests: a loopback server); default: https fetch. */
  webhookHttpGet?: HttpGet
  /** Serve the API (default: roles `all` and `api`); `npm run start:consumer` says no. */
  http?: boolean
  /** With INGEST_MODE=kafka, consume the events topic in this process (default: role `all`). */
  consume?: boolean
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
  falseTriggerOptions: FalseTriggerOptions
  results: ExperimentResults
  destinations: Destinations
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

/** Starts one process: each part in the order the next needs it (see the files it calls). */
export async function startNudge(opts: NudgeOptions): Promise<RunningNudge> {
  const { config, log, role } = opts
  // Settles once the process is up (listening, worker running): background loads wait for it.
  let up: () => void = () => {}
  const started = new Promise<void>((r) => (up = r))
  const data = await startData(config, role, log, started)
  const t = await startupStep(log, 'Temporal connected', () => connectTemporal(config, role, opts.temporalAddress))
  const { ingest, httpIngest, bus } = await ingestSide(opts, data)
  const recs = await startupStep(log, 'recommendations', () => startRecommendations(role, log, { ...data, started }))
  const where: { url?: string } = {}
  const journeys = await startupStep(log, 'journeys', () =>
    buildJourneys(journeyDeps(opts, data, t, { ingest, recommendations: recs.recommendations, where })),
  )
  const eraser = buildEraser(data, journeys)
  followJourneys(data, journeys)
  await startupStep(log, 'search attributes', () => requireSearchAttributes(t.connection, config.TEMPORAL_NAMESPACE))
  const consentRefresh = followConsent(config, log, data)
  const destinations = await startupStep(log, 'destinations', () => startDestinations(config, role, log, { data, temporal: t.temporal }))
  const graceMs = parseDuration(config.SHUTDOWN_GRACE)!
  const worker = await workerStep(opts, { data, t, journeys, graceMs, destinations })
  const detect = falseTriggerOptions(config, journeys.journeys)
  const falseTriggers = startFalseTriggers(config, role, log, {
    ...data,
    client: recs.recsStore.client,
    options: detect,
    registry: data.metrics.registry,
  })
  const health = healthCheck({ store: data.store, worker: worker?.worker, connection: t.connection })
  // Results and reports read much: on the recommendations' connection (not the ingest one).
  const results = new ExperimentResults({ client: recs.recsStore.client, experiments: data.experiments, testUsers: config.TEST_USER_IDS })
  const http = serves(opts)
    ? await startHttp(config, log, opts, {
        data,
        journeys,
        ingest: httpIngest!,
        eraser,
        health,
        results,
        reportsClient: recs.recsStore.client,
        detect,
        where,
        destinations: destinations.admin,
      })
    : undefined
  up()
  const steps = planShutdown({
    data,
    journeys,
    temporal: t,
    ...recs,
    falseTriggers,
    consentRefresh,
    worker,
    server: http?.server,
    graceMs,
    log,
    bus: await consumingBus(opts, bus, data, journeys),
  })
  steps.unshift(destinationsStep(destinations))
  let stopping: Promise<void> | undefined
  const stop = (after: readonly ShutdownStep[] = []) => (stopping ??= runShutdownPlan([...steps, ...after], log).then(() => undefined))
  return {
    url: http?.url,
    ...pick(data, 'store', 'writer', 'consent', 'users', 'segments', 'experiments', 'flags'),
    journeys,
    recommendations: recs.recommendations,
    erasure: { registry: data.erasure, tombstones: data.tombstones, eraser },
    falseTriggers,
    falseTriggerOptions: detect,
    results,
    destinations,
    reportsClient: recs.recsStore.client,
    temporal: t.temporal,
    eagerTemporal: t.eagerTemporal,
    worker: worker?.worker,
    health,
    shutdownSteps: steps,
    stop,
  }
}

/**
 * The bus with its consumer started, where this process consumes (INGEST_MODE=kafka: role `all`,
 * or `consume`) — once the process is up. Its commits wait for the journey router, when it routes here.
 */
async function consumingBus(opts: NudgeOptions, bus: Bus | undefined, data: DataParts, journeys: Journeys): Promise<Bus | undefined> {
  if (!bus || !(opts.consume ?? opts.role === 'all')) return bus
  const router = journeys.router
  bus.consumer = await startupStep(opts.log, 'Kafka consumer', () =>
    startConsumer(opts.config, opts.log, bus, data, router ? () => router.routedSeq : undefined),
  )
  return bus
}

function ingestService(config: Config, data: DataParts, bus: Bus | undefined): IngestService {
  return new IngestService({
    writer: data.writer,
    ...(bus?.producer ? { bus: bus.producer } : {}),
    dropKey: makeKeyMatcher(config.DROP_PROPERTY_KEYS),
    consentCategoryMap: config.consentCategoryMap,
  })
}

/** The shutdown plan, with the bus's steps where they belong (see withBusSteps). */
const planShutdown = ({ bus, ...parts }: Parameters<typeof shutdownSteps>[0] & { bus: Bus | undefined }) =>
  withBusSteps(shutdownSteps(parts), bus)

/** API and worker-less roles: HTTP unless told not to (`npm run start:consumer`). */
const serves = (opts: NudgeOptions) => opts.role !== 'worker' && opts.http !== false

/**
 * Where accepted events go. `ingest` (journey activities' traits, message outcomes) always stores
 * through this process's writer: a step after it may read what it wrote. `httpIngest` (the API)
 * does too with INGEST_MODE=direct; with `kafka` it produces to the topic and a consumer stores.
 */
async function ingestSide(opts: NudgeOptions, data: DataParts): Promise<{ ingest?: IngestService; httpIngest?: IngestService; bus?: Bus }> {
  if (opts.role === 'worker') return {}
  const bus = await startupStep(opts.log, 'Kafka', () => startBus(opts.config, opts.log, { produce: serves(opts) }))
  const ingest = ingestService(opts.config, data, undefined)
  return { ingest, httpIngest: bus ? ingestService(opts.config, data, bus) : ingest, bus }
}

function journeyDeps(
  opts: NudgeOptions,
  data: DataParts,
  t: TemporalConnections,
  x: { ingest?: IngestService; recommendations: RecommendationService; where: { url?: string } },
): JourneyDepsIn {
  return {
    ...data,
    config: opts.config,
    role: opts.role,
    temporal: t.temporal,
    eagerTemporal: t.eagerTemporal,
    tracking: trackingConfig(opts.config, data.secrets, x.where),
    lookupKey: data.secrets.lookupKey,
    recommendations: x.recommendations,
    ingest: x.ingest,
    storedSeq: () => data.writer.storedSeq,
    log: opts.log.warn,
  }
}

/** Journey metrics, and the router following the writer: runs hear only of what is stored (after segments). */
function followJourneys(data: DataParts, journeys: Journeys): void {
  addJourneyMetrics(data.metrics.registry, journeys)
  addRefusedRowsMetric(data.metrics.registry, { experiment_exposures: () => data.experiments.refusedExposures })
  const router = journeys.router
  if (router) data.writer.onStored((events, consentChanges, rows) => router.handleStored(events, consentChanges, rows.seq))
}

/** The worker (roles with a native connection): journey, housekeeping and destination activities. */
function workerStep(
  opts: NudgeOptions,
  x: { data: DataParts; t: TemporalConnections; journeys: Journeys; graceMs: number; destinations: Destinations },
): Promise<RunningWorker | undefined> {
  const { nativeConnection } = x.t
  if (!nativeConnection) return Promise.resolve(undefined)
  const parts = {
    nativeConnection,
    client: x.data.store.client,
    journeys: x.journeys,
    graceMs: x.graceMs,
    destinations: x.destinations.activities,
  }
  return startupStep(opts.log, 'worker', () => startWorker(opts.config, opts.log, parts))
}

/** Destinations stop feeding first: their loop reads the store and starts runs, which later steps close. */
const destinationsStep = (d: Destinations): ShutdownStep => ({ name: 'destinations', timeoutMs: 5000, run: () => d.stop() })

const pick = <T, K extends keyof T>(o: T, ...keys: K[]) => Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>

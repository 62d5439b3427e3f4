import express, { type Express } from 'express'
import type { ConsentState } from '../ingest/identity/consentState.js'
import type { EventWriter } from '../ingest/eventWriter.js'
import type { IngestService } from '../ingest/ingestService.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import type { UserRepository } from '../ingest/identity/users.js'
import type { Eraser } from '../ingest/erasure/eraser.js'
import type { ExperimentService } from '../experiments/experimentService.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import { NotFoundError } from '../core/errors.js'
import type { Registry } from 'prom-client'
import { requireAdmin, requireBearer } from './auth.js'
import { securityHeaders } from './securityHeaders.js'
import { type HttpGet, createSnsVerifier, fetchText } from '../delivery/webhooks/snsSignature.js'
import { createSendGridVerifier, parseSendGridPublicKey } from '../delivery/webhooks/sendGridSignature.js'
import { jsonBody } from './body.js'
import { errorHandler } from './errorHandler.js'
import { buildOpenApi } from './openapi.js'
import type { RouteSpec } from './route.js'
import { consentRouter, consentSpecs } from './routes/consent.js'
import { docsRouter } from './routes/docs.js'
import { experimentSpecs, experimentsRouter } from './routes/experiments.js'
import { flagSpecs, flagsRouter } from './routes/flags.js'
import { type HealthReport, healthRouter, healthSpecs } from './routes/health.js'
import { ingestRouter, ingestSpecs } from './routes/ingest.js'
import { pixelRouter, pixelSpecs } from './routes/pixel.js'
import { segmentSpecs, segmentsRouter } from './routes/segments.js'
import { userSpecs, usersRouter } from './routes/users.js'
import { journeySpecs, journeysRouter } from './routes/journeys.js'
import type { RunHistory } from '../journeys/runHistory.js'
import type { MessageBodies } from '../delivery/messageBodies.js'
import { messageSpecs, messagesPage, messagesRouter } from './routes/messages.js'
import { templateSpecs, templatesRouter } from './routes/templates.js'
import { trackingRouter, trackingSpecs } from './routes/tracking.js'
import { webhookSpecs, webhooksRouter } from './routes/webhooks.js'
import { catalogRouter, catalogSpecs } from './routes/catalog.js'
import { statsRouter, statsSpecs } from './routes/stats.js'
import { reportSpecs, reportsRouter } from './routes/reports.js'
import type { ExperimentResults } from '../analytics/results/resultsService.js'
import { suppressionSpecs, suppressionsRouter } from './routes/suppressions.js'
import type { TrackingConfig } from '../delivery/composeMessage.js'
import type { MessageLookup } from '../delivery/engagement/messageLookup.js'
import type { OutcomeRecorder } from '../delivery/engagement/outcomes.js'
import type { ClickBursts } from '../delivery/engagement/clickBursts.js'
import type { SuppressionList } from '../delivery/engagement/suppressions.js'
import type { CaptureMailbox } from '../delivery/captureMailbox.js'
import type { JourneyService } from '../journeys/journeyService.js'
import type { JourneyRuns } from '../workflows/client/journeyRuns.js'
import type { TemplateStore } from '../content/templateStore.js'
import type { RecommendationService } from '../content/recommendations/service.js'
import type { DestinationsAdmin } from '../destinations/destinationAdmin.js'
import { destinationSpecs, destinationsRouter } from './routes/destinations.js'

/** What GET /metrics and the error handler need (the composition root builds it: runtime/metrics.ts). */
export interface AppMetrics {
  registry: Registry
  rejected(code: string, status: number): void
}

/**
 * What the HTTP routes need from the journeys' composition: declared here, by the consumer, and
 * built by the composition root (runtime/journeysWiring.ts), so the adapter never imports it.
 */
export interface AppJourneys {
  /** Run history for the journey routes, message bodies for view-in-browser (repositories, not SQL here). */
  history: RunHistory
  bodies: MessageBodies
  tracking: TrackingConfig
  messages: MessageLookup
  outcomes: OutcomeRecorder
  clicks: ClickBursts
  suppressions: SuppressionList
  journeys: JourneyService
  runs: JourneyRuns
  mailbox: CaptureMailbox
  templates: TemplateStore
  /** Computed properties for template previews. */
  computed: (userKey: string) => Promise<Record<string, unknown>>
  recommendations?: RecommendationService
}

export interface AppDeps {
  writeKeys: Map<string, string>
  adminKey: string
  /** Earlier admin keys accepted during a rotation. */
  previousAdminKeys?: string[]
  results: ExperimentResults
  reports: Parameters<typeof reportsRouter>[0]
  holdout: Parameters<typeof statsRouter>[1]
  /** WEBHOOK_KEY: the only key bounce/complaint webhooks accept (never the admin key); unset = webhooks off. */
  webhookKey?: string
  /** How webhook signatures are checked (SNS always; SendGrid when its public key is set). */
  webhookSignatures?: { sendGridPublicKey?: string; snsTopicArns?: string[]; maxAgeMs?: number; httpGet?: HttpGet }
  /** Express `trust proxy` (TRUST_PROXY); off by default, so X-Forwarded-For is not believed. */
  trustProxy?: boolean | number | string
  /** METRICS_KEY: when set, /metrics needs Authorization: Bearer <key>. */
  metricsKey?: string
  ingest: IngestService
  writer: EventWriter
  users: UserRepository
  /** `DELETE /api/users/:id`. */
  eraser: Pick<Eraser, 'erase'>
  consent: ConsentState
  segments: SegmentEngine
  experiments: ExperimentService
  flags: FlagService
  journeys: AppJourneys
  health: () => Promise<HealthReport>
  metrics?: AppMetrics
  log: (msg: string, extra?: Record<string, unknown>) => void
  version?: string
  now?: () => number
  /** `/api/destinations` (runtime/destinationsWiring.ts). */
  destinations?: DestinationsAdmin
}

export const allSpecs: RouteSpec[] = [
  ...ingestSpecs,
  ...pixelSpecs,
  ...Object.values(userSpecs),
  ...Object.values(consentSpecs),
  ...Object.values(segmentSpecs),
  ...Object.values(experimentSpecs),
  ...Object.values(flagSpecs),
  ...Object.values(journeySpecs),
  ...Object.values(messageSpecs),
  ...Object.values(templateSpecs),
  ...Object.values(suppressionSpecs),
  ...Object.values(catalogSpecs),
  ...Object.values(trackingSpecs),
  ...Object.values(statsSpecs),
  ...Object.values(reportSpecs),
  ...Object.values(webhookSpecs),
  ...Object.values(healthSpecs),
  ...Object.values(destinationSpecs),
]

/** The Express app: pure wiring; every dependency is passed in. */
export function createApp(deps: AppDeps): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', deps.trustProxy ?? false)
  app.use(securityHeaders())
  app.use(healthRouter(deps.health))
  if (deps.metrics) {
    const { registry } = deps.metrics
    const guard = deps.metricsKey
      ? [
          requireBearer([deps.metricsKey], {
            missing: 'Send Authorization: Bearer <METRICS_KEY>',
            invalid: 'Send Authorization: Bearer <METRICS_KEY>',
          }),
        ]
      : []
    app.get('/metrics', ...guard, async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    })
  }
  app.use(docsRouter(buildOpenApi(allSpecs, { version: deps.version ?? '0.1.0' })))
  app.use(ingestRouter(deps))
  app.use(pixelRouter(deps))
  app.use(messagesPage())
  const j = deps.journeys
  app.use(
    trackingRouter({
      key: [j.tracking.key, ...(j.tracking.previousKeys ?? [])],
      messages: j.messages,
      outcomes: j.outcomes,
      writer: deps.writer,
      consent: deps.consent,
      bodies: j.bodies,
      topics: { marketing: 'Offers, reminders and recommendations' },
      publicUrl: j.tracking.publicUrl,
      clicks: j.clicks,
      log: deps.log,
    }),
  )
  app.use(
    webhooksRouter({
      key: deps.webhookKey,
      ...webhookVerifiers(deps),
      messages: j.messages,
      outcomes: j.outcomes,
      suppressions: j.suppressions,
      log: deps.log,
    }),
  )
  app.use('/api', requireAdmin([deps.adminKey, ...(deps.previousAdminKeys ?? [])]), jsonBody(1024 * 1024))
  app.use(usersRouter(deps))
  app.use(consentRouter(deps))
  app.use(segmentsRouter(deps.segments, deps.now))
  app.use(experimentsRouter(deps.experiments))
  app.use(flagsRouter(deps.flags))
  app.use(journeysRouter(deps.journeys, j.history))
  app.use(messagesRouter(deps.journeys.mailbox))
  app.use(suppressionsRouter(j.suppressions))
  if (j.recommendations) app.use(catalogRouter(j.recommendations))
  app.use(statsRouter(deps.results, deps.holdout))
  app.use(reportsRouter(deps.reports))
  if (deps.destinations) app.use(destinationsRouter(deps.destinations))
  app.use(
    templatesRouter({
      templates: j.templates,
      users: deps.users,
      tracking: j.tracking,
      computed: j.computed,
      ...(j.recommendations ? { recommendations: j.recommendations } : {}),
    }),
  )
  app.use((req, _res, next) => next(new NotFoundError(`No route ${req.method} ${req.path}`)))
  app.use(errorHandler(deps.log, deps.metrics?.rejected))
  return app
}

function webhookVerifiers(deps: AppDeps) {
  const w = deps.webhookSignatures ?? {}
  const maxAgeMs = w.maxAgeMs ?? 3_600_000
  const now = deps.now ?? Date.now
  return {
    sns: createSnsVerifier({ httpGet: w.httpGet ?? fetchText, maxAgeMs, topicArns: w.snsTopicArns ?? [], now }),
    ...(w.sendGridPublicKey
      ? { sendGrid: createSendGridVerifier({ publicKey: parseSendGridPublicKey(w.sendGridPublicKey), maxAgeMs, now }) }
      : {}),
  }
}

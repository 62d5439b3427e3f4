import type { Server } from 'node:http'
import type { ClickHouseClient } from '@clickhouse/client'
import { type AppDeps, createApp } from '../api/app.js'
import type { HealthReport } from '../api/routes/health.js'
import { holdoutReport } from '../analytics/results/holdoutReport.js'
import type { ExperimentResults } from '../analytics/results/resultsService.js'
import { collectReport } from '../analytics/reports/collectReport.js'
import { renderHtmlReport } from '../analytics/reports/htmlReport.js'
import type { IngestService } from '../ingest/ingestService.js'
import type { Eraser } from '../ingest/erasure/eraser.js'
import type { HttpGet } from '../delivery/webhooks/snsSignature.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import type { DataParts } from './dataWiring.js'
import type { FalseTriggerOptions } from './falseTriggersWiring.js'
import type { Journeys } from './journeysWiring.js'
import { reportLinks } from './reportLinks.js'
import type { DestinationsAdmin } from '../destinations/destinationAdmin.js'

/** In-flight HTTP requests get this long to finish once the server stops accepting; then their connections are closed. */
export const HTTP_CLOSE_MS = 3000

export interface HttpParts {
  data: DataParts
  journeys: Journeys
  ingest: IngestService
  eraser: Eraser
  health: () => Promise<HealthReport>
  results: ExperimentResults
  /** The connection reports read on. */
  reportsClient: ClickHouseClient
  detect: FalseTriggerOptions
  /** Where this process listens, once it does (links in mail and reports). */
  where: { url?: string }
  destinations?: DestinationsAdmin
}

/** The API: the Express app on its port. Resolves once it listens; sets `where.url`. */
export async function startHttp(
  config: Config,
  log: Logger,
  listen: { port?: number; webhookHttpGet?: HttpGet },
  p: HttpParts,
): Promise<{ server: Server; url: string }> {
  const app = createApp(appDeps(config, log, listen.webhookHttpGet, p))
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(listen.port ?? config.PORT, config.HOST, () => resolve(s))
    s.once('error', reject)
  })
  // Segment clients keep connections alive; a long keep-alive avoids reconnect storms under load.
  server.keepAliveTimeout = 65_000
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`
  p.where.url = url
  log.info('API listening', { url })
  return { server, url }
}

function appDeps(config: Config, log: Logger, httpGet: HttpGet | undefined, p: HttpParts): AppDeps {
  const { data } = p
  return {
    writeKeys: config.writeKeys,
    adminKey: config.ADMIN_API_KEY,
    previousAdminKeys: config.ADMIN_API_KEY_PREVIOUS ?? [],
    webhookKey: config.WEBHOOK_KEY,
    webhookSignatures: {
      ...(config.SENDGRID_WEBHOOK_PUBLIC_KEY ? { sendGridPublicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY } : {}),
      snsTopicArns: config.SNS_TOPIC_ARNS,
      maxAgeMs: config.webhookMaxAgeMs,
      ...(httpGet ? { httpGet } : {}),
    },
    trustProxy: config.trustProxy,
    ...(config.METRICS_KEY ? { metricsKey: config.METRICS_KEY } : {}),
    results: p.results,
    holdout: (q) => holdoutReport(p.reportsClient, { ...q, purchaseEvent: config.PURCHASE_EVENT, revenueProperty: 'revenue', alpha: 0.05 }),
    reports: { client: p.reportsClient, slo: config.latencySlo, detect: p.detect, html: (range) => htmlReport(config, p, range) },
    ingest: p.ingest,
    writer: data.writer,
    users: data.users,
    eraser: p.eraser,
    consent: data.consent,
    segments: data.segments,
    experiments: data.experiments,
    flags: data.flags,
    journeys: p.journeys,
    health: p.health,
    metrics: data.metrics,
    log: log.error,
    ...(p.destinations ? { destinations: p.destinations } : {}),
  }
}

async function htmlReport(config: Config, p: HttpParts, range: { from: number; until: number }): Promise<string> {
  return renderHtmlReport(
    await collectReport({
      client: p.reportsClient,
      results: p.results,
      experimentKeys: p.data.experiments
        .list()
        .filter((e) => e.status !== 'draft')
        .map((e) => e.definition.key),
      slo: config.latencySlo,
      detect: p.detect(),
      ...range,
      links: reportLinks(config, p.where.url),
    }),
  )
}

/** Stops accepting; requests in flight get HTTP_CLOSE_MS, then their connections are closed. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  // Keep-alive connections with no request in flight would hold close() open: end them now.
  server.closeIdleConnections()
  const force = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_MS)
  await closed
  clearTimeout(force)
}

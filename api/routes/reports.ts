import { Router } from 'express'
import { z } from 'zod'
import { type DetectOptions, falseTriggerReport } from '../../analytics/reports/falseTriggers.js'
import { triggerLatency } from '../../analytics/reports/triggerLatency.js'
import type { ClickHouseClient } from '@clickhouse/client'
import { type RouteSpec, validated } from '../route.js'
import { NotFoundError } from '../../core/errors.js'
import { isoDateTime } from '../../core/wireSchemas.js'
import { falseTriggersReport, latencyReport } from '../responses/reports.js'

const range = z.object({
  from: isoDateTime.optional().describe('Default: 24 hours before `until`'),
  until: isoDateTime.optional().describe('Default: now'),
  journey: z.string().max(100).optional(),
})

export const reportSpecs = {
  latency: {
    method: 'get',
    path: '/api/reports/trigger-latency',
    summary:
      'Trigger latency per journey and step: event → received, received → started, started → sent, scheduled → sent (p50/p90/p99, hourly), SLO and breaches',
    tag: 'Reports',
    auth: 'admin',
    query: range,
    responses: { 200: { description: 'Report', schema: latencyReport } },
  },
  falseTriggers: {
    method: 'get',
    path: '/api/reports/false-triggers',
    summary: 'False triggers by class with evidence, rate per journey, what the pre-send check prevented; `alert` is true on any',
    tag: 'Reports',
    auth: 'admin',
    query: range,
    responses: { 200: { description: 'Report', schema: falseTriggersReport } },
  },
  html: {
    method: 'get',
    path: '/api/reports/html',
    summary:
      'The report page: lift with intervals per experiment and variant, latency distribution, journey funnels, false triggers (self-contained HTML)',
    tag: 'Reports',
    auth: 'admin',
    query: range.omit({ journey: true }),
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  },
} satisfies Record<string, RouteSpec>

export function reportsRouter(d: {
  html?: (range: { from: number; until: number }) => Promise<string>
  client: ClickHouseClient
  slo: { default: number; byJourney: Record<string, number> }
  detect: () => Omit<DetectOptions, 'from' | 'until'>
  now?: () => number
}): Router {
  const r = Router()
  const now = d.now ?? Date.now
  const window = (q: z.infer<typeof range>) => {
    const until = q.until ? Date.parse(q.until) : now()
    return { from: q.from ? Date.parse(q.from) : until - 86_400_000, until }
  }
  r.get(
    reportSpecs.latency.path,
    validated(reportSpecs.latency, async ({ query, reply }) =>
      reply(200, await triggerLatency(d.client, { ...window(query), ...(query.journey ? { journeyId: query.journey } : {}), slo: d.slo })),
    ),
  )
  r.get(
    reportSpecs.falseTriggers.path,
    validated(reportSpecs.falseTriggers, async ({ query, reply }) => {
      const opts = d.detect()
      const journeys = query.journey ? opts.journeys.filter((j) => j.id === query.journey) : opts.journeys
      const report = await falseTriggerReport(d.client, { ...opts, journeys, ...window(query) })
      reply(200, query.journey ? { ...report, journeys: report.journeys.filter((j) => j.journey === query.journey) } : report)
    }),
  )
  r.get(
    reportSpecs.html.path,
    validated(reportSpecs.html, async ({ query, reply }) => {
      if (!d.html) throw new NotFoundError('The report page is not available in this process')
      reply(200, await d.html(window({ ...query })))
    }),
  )
  return r
}

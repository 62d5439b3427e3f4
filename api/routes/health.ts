import { Router } from 'express'
import { z } from 'zod'
import { type RouteSpec, replyTo } from '../route.js'

export interface HealthReport {
  ok: boolean
  checks: Record<string, { ok: boolean; detail?: string }>
}

const healthBody = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
  })
  .meta({ id: 'Health' })

export const healthSpecs = {
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'Ready only when the API, the store and the worker (or, in an API-only process, Temporal) are',
    tag: 'Ops',
    auth: 'none',
    responses: {
      200: { description: 'Ready', schema: healthBody },
      503: { description: 'Not ready: the same report, naming the check that failed', schema: healthBody },
    },
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary:
      'Prometheus metrics: ingest (events, rejects, batch time, queue), segments (evaluation latency, transitions, sweep lag), process',
    tag: 'Ops',
    auth: 'none',
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
  },
} satisfies Record<string, RouteSpec>

export function healthRouter(check: () => Promise<HealthReport>): Router {
  const router = Router()
  router.get('/healthz', async (_req, res) => {
    const report = await check()
    replyTo(healthSpecs.healthz, res)(report.ok ? 200 : 503, { status: report.ok ? 'ok' : 'unavailable', checks: report.checks })
  })
  return router
}

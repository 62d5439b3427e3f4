import { Router } from 'express'
import { z } from 'zod'
import type { IngestService } from '../../ingest/ingestService.js'
import { resolveSource, writeKeyFrom } from '../auth.js'
import { jsonBody } from '../body.js'
import { type RouteSpec, replyTo } from '../route.js'
import { errorBody } from '../../core/errors.js'
import {
  EVENT_TYPES,
  type EventType,
  MAX_BATCH_BYTES,
  MAX_EVENT_BYTES,
  aliasEvent,
  batchRequest,
  groupEvent,
  identifyEvent,
  ingestResponse,
  pageEvent,
  screenEvent,
  trackEvent,
} from '../../ingest/segmentSpec.js'

const documented: Record<EventType, z.ZodType> = {
  track: trackEvent,
  identify: identifyEvent,
  page: pageEvent,
  screen: screenEvent,
  alias: aliasEvent,
  group: groupEvent,
}

const ingestResponses = {
  200: { description: 'Stored (durably) — a retry with the same messageId is stored once', schema: ingestResponse },
  400: { description: 'Invalid JSON or event; `issues` names each field and rule', schema: errorBody },
  401: { description: 'Missing or unknown write key', schema: errorBody },
  413: { description: 'Event over 32 KB or batch over 500 KB', schema: errorBody },
  429: { description: 'Ingest queue full; retry after Retry-After seconds', schema: errorBody },
  503: { description: 'Store unavailable; nothing stored, retry after Retry-After seconds', schema: errorBody },
} satisfies RouteSpec['responses']

export const ingestSpecs = [
  ...EVENT_TYPES.map(
    (type) =>
      ({
        method: 'post',
        path: `/v1/${type}`,
        summary: `Segment ${type} call`,
        tag: 'Ingest',
        auth: 'writeKey',
        documentedBody: documented[type],
        responses: ingestResponses,
      }) satisfies RouteSpec,
  ),
  {
    method: 'post',
    path: '/v1/batch',
    summary: 'Segment batch (up to 500 KB, each event up to 32 KB)',
    tag: 'Ingest',
    auth: 'writeKey',
    documentedBody: batchRequest,
    responses: ingestResponses,
  } satisfies RouteSpec,
]

/** analytics.js (Segment's browser library) posts to one-letter paths; they are the same calls. */
const SHORT_PATHS: Record<string, EventType | 'batch'> = {
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  a: 'alias',
  g: 'group',
  b: 'batch',
}

export function ingestRouter(deps: { ingest: IngestService; writeKeys: Map<string, string>; now?: () => number }): Router {
  const router = Router()
  const now = deps.now ?? Date.now
  const routes: [string, EventType | 'batch'][] = [
    ...[...EVENT_TYPES, 'batch' as const].map((k): [string, EventType | 'batch'] => [k, k]),
    ...Object.entries(SHORT_PATHS),
  ]
  for (const [path, kind] of routes) {
    const spec = ingestSpecs.find((s) => s.path === `/v1/${kind}`)!
    router.post(`/v1/${path}`, jsonBody(kind === 'batch' ? MAX_BATCH_BYTES : MAX_EVENT_BYTES), async (req, res) => {
      const receivedAt = now()
      const source = resolveSource(deps.writeKeys, writeKeyFrom(req))
      await deps.ingest.ingest({ kind, body: req.body, source, receivedAt, bodyBytes: req.bodyBytes ?? 0 })
      replyTo(spec, res)(200, { success: true })
    })
  }
  return router
}

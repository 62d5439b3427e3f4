import { Router } from 'express'
import { z } from 'zod'
import type { IngestService } from '../../ingest/ingestService.js'
import { ValidationError, errorBody } from '../../core/errors.js'
import { resolveSource } from '../auth.js'
import { assertJsonLimits } from '../body.js'
import type { RouteSpec } from '../route.js'
import { parseOrThrow } from '../../core/fieldIssues.js'

/**
 * For pages that cannot run a script (plain HTML, server-rendered confirmations, emails):
 * `<img src="/v1/pixel/track?writeKey=…&userId=…&event=Order%20Completed&properties.revenue=42">`.
 * Segment's form, `?data=<base64 JSON>`, works too.
 */
/** A 1×1 transparent GIF: the answer of every pixel endpoint. */
export const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64')

export const pixelQuery = z
  .object({
    data: z.string().optional().describe('Base64 (or base64url) JSON of a Segment event, including writeKey'),
    writeKey: z.string().optional(),
    userId: z.string().optional(),
    anonymousId: z.string().optional(),
    event: z.string().optional(),
    name: z.string().optional(),
    messageId: z.string().optional(),
    timestamp: z.string().optional(),
  })
  .catchall(z.string())
  .describe('Any `properties.<key>=<value>` parameter becomes a property; numeric values become numbers')

export const pixelSpecs: RouteSpec[] = [
  {
    method: 'get',
    path: '/v1/pixel/:type',
    summary: 'Image pixel: records a track or page call from query parameters',
    tag: 'Ingest',
    auth: 'none',
    params: z.object({ type: z.enum(['track', 'page']) }),
    query: pixelQuery,
    responses: {
      200: { description: 'A 1×1 transparent GIF; the event is stored', contentType: 'image/gif' },
      400: { description: 'Invalid event', schema: errorBody },
      401: { description: 'Missing or unknown write key', schema: errorBody },
    },
  },
]

export function pixelRouter(deps: { ingest: IngestService; writeKeys: Map<string, string>; now?: () => number }): Router {
  const router = Router()
  const now = deps.now ?? Date.now
  router.get('/v1/pixel/:type', async (req, res) => {
    const receivedAt = now()
    const type = req.params.type
    if (type !== 'track' && type !== 'page')
      throw new ValidationError('Pixel type must be track or page', [{ path: 'type', rule: 'one_of', message: 'must be track or page' }])
    // Through the documented schema: a repeated parameter (an array) is a 400 naming it.
    const body = pixelBody(parseOrThrow(pixelQuery, req.query, 'query parameters'))
    const source = resolveSource(deps.writeKeys, typeof body.writeKey === 'string' ? body.writeKey : undefined)
    delete body.writeKey
    const text = JSON.stringify(body)
    await deps.ingest.ingest({ kind: type, body, source, receivedAt, bodyBytes: Buffer.byteLength(text) })
    res.setHeader('Cache-Control', 'no-store, max-age=0')
    res.type('image/gif').send(GIF)
  })
  return router
}

function pixelBody(query: Record<string, unknown>): Record<string, unknown> {
  if (typeof query.data === 'string') {
    let decoded: unknown
    try {
      decoded = JSON.parse(Buffer.from(query.data, 'base64').toString('utf8'))
    } catch {
      throw new ValidationError('`data` must be base64-encoded JSON', [
        { path: 'data', rule: 'base64_json', message: 'must be base64-encoded JSON' },
      ])
    }
    if (!decoded || typeof decoded !== 'object' || Array.isArray(decoded))
      throw new ValidationError('`data` must encode a JSON object', [{ path: 'data', rule: 'type', message: 'must encode an object' }])
    // A body by another road: the same depth and Unicode limits as the body layer's.
    assertJsonLimits(decoded, { prefix: 'data' })
    return decoded as Record<string, unknown>
  }
  const body: Record<string, unknown> = {}
  const properties: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string') continue
    if (key.startsWith('properties.'))
      properties[key.slice('properties.'.length)] = /^-?(0|[1-9]\d*)(\.\d+)?$/.test(value) ? Number(value) : value
    else if (['writeKey', 'userId', 'anonymousId', 'event', 'name', 'messageId', 'timestamp'].includes(key)) body[key] = value
  }
  if (Object.keys(properties).length) body.properties = properties
  return body
}

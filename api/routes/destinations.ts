import { Router } from 'express'
import { z } from 'zod'
import { errorBody } from '../../core/errors.js'
import type { DestinationsAdmin } from '../../destinations/destinationAdmin.js'
import { destinationDefinition, RECORD_KINDS } from '../../destinations/destinationSchema.js'
import { DestinationService } from '../../destinations/destinationStore.js'
import { type RouteSpec, validated } from '../route.js'

const idParams = z.object({ id: z.string().min(1).max(64) })
/** A destination as answered: its definition with every secret masked, its version and last change. */
const stamp = { version: z.number(), updatedAt: z.string() }
const [webhook, hubspot, salesforce, segment, kafka] = destinationDefinition.options
const destinationView = z
  .discriminatedUnion('kind', [
    webhook.extend(stamp),
    hubspot.extend(stamp),
    salesforce.extend(stamp),
    segment.extend(stamp),
    kafka.extend(stamp),
  ])
  .meta({ id: 'Destination' })
const reportRow = z
  .object({
    destinationId: z.string(),
    delivered: z.number(),
    retried: z.number(),
    deadLettered: z.number(),
    withheld: z.number(),
    pending: z.number(),
    lagMs: z.number(),
    deliveredLagP95Ms: z.number(),
  })
  .meta({ id: 'DestinationReportRow' })
const deadLetter = z
  .object({
    recordId: z.string(),
    kind: z.enum(RECORD_KINDS),
    userId: z.string(),
    at: z.string(),
    attempts: z.number(),
    lastError: z.string(),
    failedAt: z.string(),
  })
  .meta({ id: 'DeadLetter' })
const bad = { description: 'Invalid destination: `issues` name each field and rule', schema: errorBody }
const unknown = { description: 'Unknown destination', schema: errorBody }
const base = { tag: 'Destinations', auth: 'admin' } as const

export const destinationSpecs = {
  report: {
    ...base,
    method: 'get',
    path: '/api/destinations/report',
    summary: 'Per destination: delivered, retried, dead-lettered, withheld (consent), pending and lag',
    responses: { 200: { description: 'Report rows', schema: z.object({ destinations: z.array(reportRow) }) } },
  },
  list: {
    ...base,
    method: 'get',
    path: '/api/destinations',
    summary: 'All destinations (secrets masked)',
    responses: { 200: { description: 'Destinations', schema: z.object({ destinations: z.array(destinationView) }) } },
  },
  create: {
    ...base,
    method: 'post',
    path: '/api/destinations',
    summary: 'Create a destination: where segment changes, computed traits and message outcomes go',
    body: destinationDefinition,
    responses: {
      201: { description: 'Created', schema: destinationView },
      400: bad,
      409: { description: 'Exists already', schema: errorBody },
    },
  },
  get: {
    ...base,
    method: 'get',
    path: '/api/destinations/:id',
    summary: 'One destination (secrets masked)',
    params: idParams,
    responses: { 200: { description: 'Destination', schema: destinationView }, 404: unknown },
  },
  update: {
    ...base,
    method: 'put',
    path: '/api/destinations/:id',
    summary: 'Replace a destination; a masked secret sent back keeps the stored one',
    params: idParams,
    body: destinationDefinition,
    responses: { 200: { description: 'Updated', schema: destinationView }, 400: bad, 404: unknown },
  },
  remove: {
    ...base,
    method: 'delete',
    path: '/api/destinations/:id',
    summary: 'Delete a destination with its pending records and dead letters',
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 404: unknown },
  },
  deadLetters: {
    ...base,
    method: 'get',
    path: '/api/destinations/:id/dead-letters',
    summary: 'Records the destination refused, or that failed every attempt, oldest first',
    params: idParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    responses: { 200: { description: 'Dead letters', schema: z.object({ deadLetters: z.array(deadLetter) }) }, 400: bad, 404: unknown },
  },
  replay: {
    ...base,
    method: 'post',
    path: '/api/destinations/:id/dead-letters/replay',
    summary: 'Send dead letters again (all, or `recordIds`), in their original order',
    params: idParams,
    body: z.object({ recordIds: z.array(z.string().min(1).max(64)).min(1).max(10_000).optional() }).strict(),
    responses: {
      200: { description: 'How many went back to pending', schema: z.object({ replayed: z.number() }) },
      400: bad,
      404: unknown,
    },
  },
} satisfies Record<string, RouteSpec>

export function destinationsRouter(admin: DestinationsAdmin): Router {
  const r = Router()
  const s = destinationSpecs
  r.get(
    s.report.path,
    validated(s.report, async ({ reply }) => reply(200, { destinations: await admin.report() })),
  )
  r.get(
    s.list.path,
    validated(s.list, ({ reply }) => reply(200, { destinations: admin.list().map(DestinationService.view) })),
  )
  r.post(
    s.create.path,
    validated(s.create, async ({ body, reply }) => reply(201, DestinationService.view(await admin.create(body)))),
  )
  r.get(
    s.get.path,
    validated(s.get, ({ params, reply }) => reply(200, DestinationService.view(admin.get(params.id)))),
  )
  r.put(
    s.update.path,
    validated(s.update, async ({ params, body, reply }) => reply(200, DestinationService.view(await admin.update(params.id, body)))),
  )
  r.delete(
    s.remove.path,
    validated(s.remove, async ({ params, reply }) => {
      await admin.remove(params.id)
      reply(204)
    }),
  )
  r.get(
    s.deadLetters.path,
    validated(s.deadLetters, async ({ params, query, reply }) => {
      const rows = await admin.deadLetters(params.id, query.limit)
      reply(200, {
        deadLetters: rows.map((row) => ({
          recordId: row.record.id,
          kind: row.record.kind,
          userId: row.record.userKey,
          at: new Date(row.record.at).toISOString(),
          attempts: row.attempts,
          lastError: row.lastError,
          failedAt: new Date(row.updatedAt).toISOString(),
        })),
      })
    }),
  )
  r.post(
    s.replay.path,
    validated(s.replay, async ({ params, body, reply }) => reply(200, { replayed: await admin.replay(params.id, body.recordIds) })),
  )
  return r
}

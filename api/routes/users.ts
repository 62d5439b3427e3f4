import { Router } from 'express'
import { z } from 'zod'
import type { EventWriter } from '../../analytics/ingest/eventWriter.js'
import type { SegmentEngine } from '../../analytics/segments/segmentEngine.js'
import type { UserRepository } from '../../analytics/users.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../schemas/common.js'

const userParams = z.object({ id: z.string().min(1).max(256) })
const userQuery = z.object({ recent: z.coerce.number().int().min(0).max(1000).default(50) })

const notFound = { description: 'No data is held for this user', schema: errorBody }
const unauthorized = { description: 'Missing or invalid admin key', schema: errorBody }

export const userSpecs = {
  get: {
    method: 'get',
    path: '/api/users/:id',
    summary: 'Profile, identities, consent, segments, computed properties (RFM, LTV, …) and recent events of a user (contacts masked)',
    tag: 'Users',
    auth: 'admin',
    params: userParams,
    query: userQuery,
    responses: { 200: { description: 'The user' }, 401: unauthorized, 404: notFound },
  },
  export: {
    method: 'get',
    path: '/api/users/:id/export',
    summary: 'Everything held about a user, decrypted (data subject access request)',
    tag: 'Users',
    auth: 'admin',
    params: userParams,
    responses: { 200: { description: 'JSON export', contentType: 'application/json' }, 401: unauthorized, 404: notFound },
  },
  erase: {
    method: 'delete',
    path: '/api/users/:id',
    summary: 'Erase a user from every table (right to erasure); finished when it answers',
    tag: 'Users',
    auth: 'admin',
    params: userParams,
    responses: {
      200: { description: 'Erased', schema: z.object({ erased: z.literal(true), rowsDeleted: z.number() }) },
      401: unauthorized,
    },
  },
} satisfies Record<string, RouteSpec>

export function usersRouter(deps: { users: UserRepository; writer: EventWriter; segments: SegmentEngine; journeys?: { runs: { terminateUserRuns(userKey: string, reason: string): Promise<number> } } }): Router {
  const router = Router()
  router.get(
    userSpecs.get.path,
    validated(userSpecs.get, async ({ params, query }, _req, res) => {
      const { keys, ...profile } = await deps.users.profile(params.id, query.recent)
      res.json({ ...profile, ...(await deps.segments.profileOf(params.id, keys)) })
    }),
  )
  router.get(
    userSpecs.export.path,
    validated(userSpecs.export, async ({ params }, _req, res) => {
      const data = await deps.users.export(params.id)
      res.setHeader('Content-Disposition', `attachment; filename="nudge-user-export.json"`)
      res.json(data)
    }),
  )
  router.delete(
    userSpecs.erase.path,
    validated(userSpecs.erase, async ({ params }, _req, res) => {
      // Anything of this user's still queued must land before the delete, or it would survive it.
      await deps.writer.drain()
      await deps.segments.idle(3) // what was queued for this user settles first
      // Their journeys end first: no step may send, record or look them up after the erasure.
      for (const k of (await deps.users.keysOf(params.id)).keys) await deps.journeys?.runs.terminateUserRuns(k, 'user erased')
      const { rowsDeleted, keys } = await deps.users.erase(params.id, 'admin-api')
      await deps.segments.forget(keys)
      deps.writer.forgetLinks(keys)
      res.json({ erased: true, rowsDeleted })
    }),
  )
  return router
}

import { Router } from 'express'
import { z } from 'zod'
import type { Eraser } from '../../ingest/erasure/eraser.js'
import type { SegmentEngine } from '../../segments/segmentEngine.js'
import type { UserRepository } from '../../ingest/identity/users.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'
import { userExport, userProfile } from '../responses/users.js'

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
    responses: { 200: { description: 'The user', schema: userProfile }, 401: unauthorized, 404: notFound },
  },
  export: {
    method: 'get',
    path: '/api/users/:id/export',
    summary: 'Everything held about a user, decrypted (data subject access request)',
    tag: 'Users',
    auth: 'admin',
    params: userParams,
    responses: { 200: { description: 'JSON export (a download)', schema: userExport }, 401: unauthorized, 404: notFound },
  },
  erase: {
    method: 'delete',
    path: '/api/users/:id',
    summary:
      'Erase a user and their linked anonymous ids from every table and in-memory index (right to erasure); late signals of their mail are dropped; finished when it answers',
    tag: 'Users',
    auth: 'admin',
    params: userParams,
    responses: {
      200: { description: 'Erased', schema: z.object({ erased: z.literal(true), rowsDeleted: z.number() }) },
      401: unauthorized,
    },
  },
} satisfies Record<string, RouteSpec>

export function usersRouter(deps: { users: UserRepository; segments: SegmentEngine; eraser: Pick<Eraser, 'erase'> }): Router {
  const router = Router()
  router.get(
    userSpecs.get.path,
    validated(userSpecs.get, async ({ params, query, reply }) => {
      const { keys, ...profile } = await deps.users.profile(params.id, query.recent)
      reply(200, { ...profile, ...(await deps.segments.profileOf(params.id, keys)) })
    }),
  )
  router.get(
    userSpecs.export.path,
    validated(userSpecs.export, async ({ params, reply }, _req, res) => {
      const data = await deps.users.export(params.id)
      res.setHeader('Content-Disposition', `attachment; filename="nudge-user-export.json"`)
      reply(200, data)
    }),
  )
  router.delete(
    userSpecs.erase.path,
    validated(userSpecs.erase, async ({ params, reply }) => {
      // Every table, every registered in-memory index, a tombstone for late signals (see Eraser).
      const { rowsDeleted } = await deps.eraser.erase(params.id, 'admin-api')
      reply(200, { erased: true, rowsDeleted })
    }),
  )
  return router
}

import { Router } from 'express'
import { z } from 'zod'
import type { SuppressionList } from '../../delivery/engagement/suppressions.js'
import { suppressionStatus } from '../../delivery/engagement/suppressionStatus.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'

const email = z
  .string()
  .trim()
  .max(320)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address')
const status = z.object({ email: z.string(), ...suppressionStatus.shape }).meta({ id: 'Suppression' })

export const suppressionSpecs = {
  get: {
    method: 'get',
    path: '/api/suppressions/:email',
    summary: 'Is this address suppressed, and why',
    tag: 'Deliverability',
    auth: 'admin',
    params: z.object({ email }),
    responses: { 200: { description: 'Status', schema: status } },
  },
  add: {
    method: 'post',
    path: '/api/suppressions',
    summary: 'Suppress an address (no journey mails it until removed)',
    tag: 'Deliverability',
    auth: 'admin',
    body: z.object({ email }).strict(),
    responses: { 200: { description: 'Suppressed', schema: status }, 400: { description: 'Invalid', schema: errorBody } },
  },
  remove: {
    method: 'delete',
    path: '/api/suppressions/:email',
    summary: 'Lift a suppression',
    tag: 'Deliverability',
    auth: 'admin',
    params: z.object({ email }),
    responses: { 200: { description: 'Lifted', schema: status } },
  },
} satisfies Record<string, RouteSpec>

export function suppressionsRouter(list: SuppressionList): Router {
  const r = Router()
  r.get(
    suppressionSpecs.get.path,
    validated(suppressionSpecs.get, async ({ params, reply }) =>
      reply(200, { email: params.email, ...(await list.get(list.hashOf(params.email))) }),
    ),
  )
  r.post(
    suppressionSpecs.add.path,
    validated(suppressionSpecs.add, async ({ body, reply }) => {
      await list.add(list.hashOf(body.email), 'manual', 'api')
      reply(200, { email: body.email, ...(await list.get(list.hashOf(body.email))) })
    }),
  )
  r.delete(
    suppressionSpecs.remove.path,
    validated(suppressionSpecs.remove, async ({ params, reply }) => {
      await list.remove(list.hashOf(params.email), 'api')
      reply(200, { email: params.email, suppressed: false })
    }),
  )
  return r
}

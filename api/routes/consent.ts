import { Router } from 'express'
import { z } from 'zod'
import type { ConsentState } from '../../ingest/identity/consentState.js'
import type { EventWriter } from '../../ingest/eventWriter.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'
import { consentTopic } from '../../core/wireSchemas.js'

export const consentChange = z
  .object({
    userId: z.string().min(1).max(256),
    topics: z
      .record(consentTopic, z.boolean())
      .refine((t) => Object.keys(t).length > 0, { message: 'must name at least one topic', params: { rule: 'min' } }),
  })
  .meta({ id: 'ConsentChange', examples: [{ userId: 'u_123', topics: { marketing: false } }] })

const consentView = z.object({ userId: z.string(), consent: z.record(z.string(), z.boolean()) }).meta({ id: 'Consent' })

export const consentSpecs = {
  set: {
    method: 'post',
    path: '/api/consent',
    summary: 'Record a consent change per topic (tracking, marketing, transactional, …); stored as a timeline row',
    tag: 'Consent',
    auth: 'admin',
    body: consentChange,
    responses: {
      200: { description: 'The user’s consent after the change', schema: consentView },
      400: { description: 'Invalid', schema: errorBody },
    },
  },
  get: {
    method: 'get',
    path: '/api/consent/:userId',
    summary: 'Current consent of a user per topic (defaults where nothing was recorded)',
    tag: 'Consent',
    auth: 'admin',
    params: z.object({ userId: z.string().min(1).max(256) }),
    responses: { 200: { description: 'Consent', schema: consentView } },
  },
} satisfies Record<string, RouteSpec>

export function consentRouter(deps: { writer: EventWriter; consent: ConsentState; now?: () => number }): Router {
  const router = Router()
  const now = deps.now ?? Date.now
  router.post(
    consentSpecs.set.path,
    validated(consentSpecs.set, async ({ body, reply }) => {
      const changedAt = now()
      await deps.writer.write({
        events: [],
        consent: Object.entries(body.topics).map(([topic, granted]) => ({
          userKey: body.userId,
          topic,
          granted,
          changedAt,
          source: 'api' as const,
        })),
      })
      reply(200, { userId: body.userId, consent: deps.consent.snapshot(body.userId) })
    }),
  )
  router.get(
    consentSpecs.get.path,
    validated(consentSpecs.get, ({ params, reply }) => {
      reply(200, { userId: params.userId, consent: deps.consent.snapshot(params.userId) })
    }),
  )
  return router
}

import { Router } from 'express'
import { z } from 'zod'
import { NotFoundError, errorBody } from '../../core/errors.js'
import { journeyRunState } from '../responses/journeyState.js'
import { JOURNEY_STATUSES, journeyDefinition } from '../../journeys/journeySchema.js'
import type { JourneyService, StoredJourney } from '../../journeys/journeyService.js'
import { type RunHistory, runSummary } from '../../journeys/runHistory.js'
import { type JourneyRuns, runId } from '../../workflows/client/journeyRuns.js'
import { type RouteSpec, validated } from '../route.js'

const idParams = z.object({ id: z.string().min(1).max(64) })
const journeyView = journeyDefinition
  .safeExtend({ status: z.enum(JOURNEY_STATUSES), version: z.number(), updatedAt: z.string() })
  .meta({ id: 'Journey' })
type JourneyView = z.infer<typeof journeyView>
const bad = {
  description: 'Invalid definition: `issues` give the JSON path and rule (unreachable step, unknown template, flag or segment, …)',
  schema: errorBody,
}
const unknown = { description: 'Unknown journey', schema: errorBody }
const conflict = { description: 'Not allowed in its current status', schema: errorBody }
export const journeySpecs = {
  list: {
    method: 'get',
    path: '/api/journeys',
    summary: 'All journeys',
    tag: 'Journeys',
    auth: 'admin',
    responses: { 200: { description: 'Journeys', schema: z.object({ journeys: z.array(journeyView) }) } },
  },
  create: {
    method: 'post',
    path: '/api/journeys',
    summary: 'Create a journey (a draft; activate it to start triggering)',
    tag: 'Journeys',
    auth: 'admin',
    body: journeyDefinition,
    responses: {
      201: { description: 'Created', schema: journeyView },
      400: bad,
      409: { description: 'Exists already', schema: errorBody },
    },
  },
  get: {
    method: 'get',
    path: '/api/journeys/:id',
    summary: 'One journey',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Journey', schema: journeyView }, 404: unknown },
  },
  update: {
    method: 'put',
    path: '/api/journeys/:id',
    summary: 'Save a new version: runs already going keep the version they started with',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    body: journeyDefinition.omit({ id: true }),
    responses: { 200: { description: 'Updated', schema: journeyView }, 400: bad, 404: unknown, 409: conflict },
  },
  remove: {
    method: 'delete',
    path: '/api/journeys/:id',
    summary: 'Delete a journey (running runs finish on their version)',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 404: unknown },
  },
  activate: {
    method: 'post',
    path: '/api/journeys/:id/activate',
    summary: 'Start triggering runs',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Active', schema: journeyView }, 400: bad, 404: unknown, 409: conflict },
  },
  pause: {
    method: 'post',
    path: '/api/journeys/:id/pause',
    summary: 'Stop new entries (running runs go on)',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Paused', schema: journeyView }, 404: unknown, 409: conflict },
  },
  archive: {
    method: 'post',
    path: '/api/journeys/:id/archive',
    summary: 'Retire (no new entries, no more edits)',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Archived', schema: journeyView }, 404: unknown, 409: conflict },
  },
  version: {
    method: 'get',
    path: '/api/journeys/:id/versions/:version',
    summary: 'A past version of the definition (what older runs follow)',
    tag: 'Journeys',
    auth: 'admin',
    params: z.object({ id: z.string().min(1).max(64), version: z.coerce.number().int().min(1) }),
    responses: { 200: { description: 'Definition', schema: journeyDefinition }, 404: unknown },
  },
  runs: {
    method: 'get',
    path: '/api/journeys/:id/runs',
    summary: 'Recent runs, newest first (from the store)',
    tag: 'Journeys',
    auth: 'admin',
    params: idParams,
    // A user id is as long as ingest accepts (256); a correlation value is any property's text.
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), user: z.string().max(256).optional() }),
    responses: { 200: { description: 'Runs', schema: z.object({ runs: z.array(runSummary) }) } },
  },
  state: {
    method: 'get',
    path: '/api/journeys/:id/runs/:user/state',
    summary: 'A run’s live state (current step, what it waits for, experiment, flags) from its workflow',
    tag: 'Journeys',
    auth: 'admin',
    params: z.object({ id: z.string().min(1).max(64), user: z.string().min(1).max(256) }),
    query: z.object({ correlation: z.string().max(4000).optional() }),
    responses: {
      200: { description: 'State', schema: journeyRunState },
      404: { description: 'No such run', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

function view(j: StoredJourney): JourneyView {
  return { ...j.definition, status: j.status, version: j.version, updatedAt: new Date(j.updatedAt).toISOString() }
}

/** What these routes need from the journeys' composition (declared here; the composition root builds it). */
export interface JourneyRouteDeps {
  journeys: JourneyService
  runs: Pick<JourneyRuns, 'state'>
}

export function journeysRouter(j: JourneyRouteDeps, history: RunHistory): Router {
  const r = Router()
  r.get(
    journeySpecs.list.path,
    validated(journeySpecs.list, ({ reply }) => {
      reply(200, { journeys: j.journeys.list().map(view) })
    }),
  )
  r.post(
    journeySpecs.create.path,
    validated(journeySpecs.create, async ({ reply }, req) => {
      // The raw body, so the service reports issues against what was sent (defaults not yet applied).
      reply(201, view(await j.journeys.create(req.body)))
    }),
  )
  r.get(
    journeySpecs.get.path,
    validated(journeySpecs.get, ({ params, reply }) => {
      reply(200, view(j.journeys.get(params.id)))
    }),
  )
  r.put(
    journeySpecs.update.path,
    validated(journeySpecs.update, async ({ params, reply }, req) => {
      reply(200, view(await j.journeys.update(params.id, req.body)))
    }),
  )
  r.delete(
    journeySpecs.remove.path,
    validated(journeySpecs.remove, async ({ params, reply }) => {
      await j.journeys.remove(params.id)
      reply(204)
    }),
  )
  for (const [spec, status] of [
    [journeySpecs.activate, 'active'],
    [journeySpecs.pause, 'paused'],
    [journeySpecs.archive, 'archived'],
  ] as const)
    r.post(
      spec.path,
      validated(spec, async ({ params, reply }) => {
        reply(200, view(await j.journeys.setStatus(params.id, status)))
      }),
    )
  r.get(
    journeySpecs.version.path,
    validated(journeySpecs.version, async ({ params, reply }) => {
      reply(200, await j.journeys.version(params.id, params.version))
    }),
  )
  r.get(
    journeySpecs.runs.path,
    validated(journeySpecs.runs, async ({ params, query, reply }) => {
      reply(200, { runs: await history.recent(params.id, query) })
    }),
  )
  r.get(
    journeySpecs.state.path,
    validated(journeySpecs.state, async ({ params, query, reply }) => {
      const state = await j.runs.state(runId(params.id, params.user, query.correlation))
      if (!state) throw new NotFoundError(`No run of "${params.id}" for "${params.user}"`)
      reply(200, state)
    }),
  )
  return r
}

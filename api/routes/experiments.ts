import { Router } from 'express'
import { z } from 'zod'
import {
  EXPERIMENT_STATUSES,
  type Experiment,
  definitionWarning,
  experimentDefinition,
  explainedAssignment,
} from '../../experiments/experimentSchema.js'
import type { ExperimentService } from '../../experiments/experimentService.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'

const keyParams = z.object({ key: z.string().min(1).max(100) })
const experimentView = experimentDefinition
  .safeExtend({
    status: z.enum(EXPERIMENT_STATUSES),
    rolledOut: z.string().optional(),
    version: z.number(),
    updatedAt: z.string(),
    startedAt: z.string().optional(),
    stoppedAt: z.string().optional(),
  })
  .meta({ id: 'Experiment' })
type ExperimentView = z.infer<typeof experimentView>
const withWarnings = z.object({ experiment: experimentView, warnings: z.array(definitionWarning) })
const bad = {
  description: 'Invalid definition: `issues` name each field and rule (weights must sum to 1, variant keys unique, …)',
  schema: errorBody,
}
const conflict = {
  description: 'Not allowed in its current state (illegal transition, a field a running experiment cannot change, a layer overlap)',
  schema: errorBody,
}
const unknown = { description: 'Unknown experiment', schema: errorBody }
const transition = (path: string, summary: string) =>
  ({
    method: 'post',
    path,
    summary,
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    responses: { 200: { description: 'Done', schema: experimentView }, 404: unknown, 409: conflict },
  }) as const

export const experimentSpecs = {
  list: {
    method: 'get',
    path: '/api/experiments',
    summary: 'All experiments',
    tag: 'Experiments',
    auth: 'admin',
    responses: { 200: { description: 'Experiments', schema: z.object({ experiments: z.array(experimentView) }) } },
  },
  create: {
    method: 'post',
    path: '/api/experiments',
    summary: 'Create an experiment (a draft); metrics on events never received come back as warnings',
    tag: 'Experiments',
    auth: 'admin',
    body: experimentDefinition,
    responses: {
      201: { description: 'Created', schema: withWarnings },
      400: bad,
      409: { description: 'Exists already', schema: errorBody },
    },
  },
  get: {
    method: 'get',
    path: '/api/experiments/:key',
    summary: 'One experiment',
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    responses: { 200: { description: 'Experiment', schema: experimentView }, 404: unknown },
  },
  update: {
    method: 'put',
    path: '/api/experiments/:key',
    summary: 'Replace a definition: anything in a draft; once running only name, hypothesis, metrics, stats, traffic, schedule',
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    body: experimentDefinition,
    responses: { 200: { description: 'Updated', schema: withWarnings }, 400: bad, 404: unknown, 409: conflict },
  },
  remove: {
    method: 'delete',
    path: '/api/experiments/:key',
    summary: 'Delete an experiment (not while running)',
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    responses: { 204: { description: 'Deleted' }, 404: unknown, 409: conflict },
  },
  start: transition('/api/experiments/:key/start', 'draft (or stopped) → running; its layer part must not overlap a running experiment'),
  stop: transition('/api/experiments/:key/stop', 'running → stopped'),
  rollout: {
    method: 'post',
    path: '/api/experiments/:key/rollout',
    summary: 'stopped → rolled out: every unit gets the winner',
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    body: z.object({ variant: z.string().min(1) }),
    responses: { 200: { description: 'Done', schema: experimentView }, 400: bad, 404: unknown, 409: conflict },
  },
  assignment: {
    method: 'get',
    path: '/api/experiments/:key/assignment',
    summary: 'Which variant a unit gets and why (logs nothing), with its first exposure',
    tag: 'Experiments',
    auth: 'admin',
    params: keyParams,
    query: z.object({ unit: z.string().min(1).max(500) }),
    responses: { 200: { description: 'Assignment', schema: explainedAssignment }, 404: unknown },
  },
} satisfies Record<string, RouteSpec>

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

function view(e: Experiment): ExperimentView {
  return {
    ...e.definition,
    status: e.status,
    ...(e.rolledOut ? { rolledOut: e.rolledOut } : {}),
    version: e.version,
    updatedAt: iso(e.updatedAt)!,
    ...(e.startedAt ? { startedAt: iso(e.startedAt) } : {}),
    ...(e.stoppedAt ? { stoppedAt: iso(e.stoppedAt) } : {}),
  }
}

export function experimentsRouter(experiments: ExperimentService): Router {
  const r = Router()
  r.get(
    experimentSpecs.list.path,
    validated(experimentSpecs.list, ({ reply }) => {
      reply(200, { experiments: experiments.list().map(view) })
    }),
  )
  r.post(
    experimentSpecs.create.path,
    validated(experimentSpecs.create, async ({ body, reply }) => {
      const { experiment, warnings } = await experiments.create(body)
      reply(201, { experiment: view(experiment), warnings })
    }),
  )
  r.get(
    experimentSpecs.get.path,
    validated(experimentSpecs.get, ({ params, reply }) => {
      reply(200, view(experiments.get(params.key)))
    }),
  )
  r.put(
    experimentSpecs.update.path,
    validated(experimentSpecs.update, async ({ params, body, reply }) => {
      const { experiment, warnings } = await experiments.update(params.key, body)
      reply(200, { experiment: view(experiment), warnings })
    }),
  )
  r.delete(
    experimentSpecs.remove.path,
    validated(experimentSpecs.remove, async ({ params, reply }) => {
      await experiments.remove(params.key)
      reply(204)
    }),
  )
  r.post(
    experimentSpecs.start.path,
    validated(experimentSpecs.start, async ({ params, reply }) => {
      reply(200, view(await experiments.transition(params.key, 'running')))
    }),
  )
  r.post(
    experimentSpecs.stop.path,
    validated(experimentSpecs.stop, async ({ params, reply }) => {
      reply(200, view(await experiments.transition(params.key, 'stopped')))
    }),
  )
  r.post(
    experimentSpecs.rollout.path,
    validated(experimentSpecs.rollout, async ({ params, body, reply }) => {
      reply(200, view(await experiments.transition(params.key, 'rolled_out', body.variant)))
    }),
  )
  r.get(
    experimentSpecs.assignment.path,
    validated(experimentSpecs.assignment, async ({ params, query, reply }) => {
      reply(200, await experiments.explain(params.key, query.unit))
    }),
  )
  return r
}

import { Router } from 'express'
import { z } from 'zod'
import type { SegmentEngine } from '../../segments/segmentEngine.js'
import { rule, segmentDefinition } from '../../segments/ruleSchema.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'
import { isoDateTime } from '../../core/wireSchemas.js'

const idParams = z.object({ id: z.string().min(1).max(100) })
const segmentView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().optional(),
    rule,
    version: z.number(),
    updatedAt: z.string(),
    size: z.number(),
  })
  .meta({ id: 'Segment' })
type SegmentView = z.infer<typeof segmentView>
const tooSlow = { description: 'Not answered within SEGMENT_PREVIEW_TIMEOUT; retry after Retry-After seconds', schema: errorBody }
const bad = {
  description: 'Invalid rule: `issues` name the JSON path of each bad node; also unknown references and cycles',
  schema: errorBody,
}
// The rule is checked node by node by the engine (precise paths); the schema here documents it.
const definitionBody = segmentDefinition.extend({ rule: z.unknown() })
const sample = z.number().int().min(0).max(1000).default(20)

export const segmentSpecs = {
  list: {
    method: 'get',
    path: '/api/segments',
    summary: 'All segments with their current size',
    tag: 'Segments',
    auth: 'admin',
    responses: { 200: { description: 'Segments', schema: z.object({ segments: z.array(segmentView) }) } },
  },
  create: {
    method: 'post',
    path: '/api/segments',
    summary: 'Create a segment; its membership is computed before this answers',
    tag: 'Segments',
    auth: 'admin',
    body: definitionBody,
    documentedBody: segmentDefinition,
    responses: {
      201: { description: 'Created', schema: segmentView },
      400: bad,
      409: { description: 'Exists already', schema: errorBody },
    },
  },
  get: {
    method: 'get',
    path: '/api/segments/:id',
    summary: 'One segment',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Segment', schema: segmentView }, 404: { description: 'Unknown', schema: errorBody } },
  },
  update: {
    method: 'put',
    path: '/api/segments/:id',
    summary: 'Replace a segment’s definition (new version) and recompute it',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    body: definitionBody.omit({ id: true }),
    documentedBody: segmentDefinition.omit({ id: true }),
    responses: { 200: { description: 'Updated', schema: segmentView }, 400: bad, 404: { description: 'Unknown', schema: errorBody } },
  },
  remove: {
    method: 'delete',
    path: '/api/segments/:id',
    summary: 'Delete a segment (every member exits); refused while another segment uses it',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'In use', schema: errorBody } },
  },
  validate: {
    method: 'post',
    path: '/api/segments/validate',
    summary: 'Check a rule without saving',
    tag: 'Segments',
    auth: 'admin',
    body: z.object({ rule: z.unknown() }),
    documentedBody: z.object({ rule }),
    responses: { 200: { description: 'Valid', schema: z.object({ valid: z.literal(true) }) }, 400: bad, 503: tooSlow },
  },
  preview: {
    method: 'post',
    path: '/api/segments/preview',
    summary: 'Size and a sample of members of a rule, without saving',
    tag: 'Segments',
    auth: 'admin',
    body: z.object({ rule: z.unknown(), sample }),
    documentedBody: z.object({ rule, sample }),
    responses: {
      200: { description: 'Preview', schema: z.object({ size: z.number(), sample: z.array(z.string()) }) },
      400: bad,
      503: tooSlow,
    },
  },
  members: {
    method: 'get',
    path: '/api/segments/:id/members',
    summary: 'Current members, paginated by user key (pass `next` back as `after`)',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    query: z.object({ after: z.string().default(''), limit: z.coerce.number().int().min(1).max(10_000).default(100) }),
    responses: { 200: { description: 'A page', schema: z.object({ members: z.array(z.string()), next: z.string().nullable() }) } },
  },
  recompute: {
    method: 'post',
    path: '/api/segments/:id/recompute',
    summary: 'Full recompute now',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    responses: { 200: { description: 'Done', schema: z.object({ entered: z.number(), exited: z.number(), size: z.number() }) } },
  },
  history: {
    method: 'get',
    path: '/api/segments/:id/size-history',
    summary: 'Size over time (from the enter/exit log)',
    tag: 'Segments',
    auth: 'admin',
    params: idParams,
    query: z.object({
      bucket: z.enum(['hour', 'day']).default('day'),
      from: isoDateTime.optional(),
      to: isoDateTime.optional(),
    }),
    responses: {
      200: {
        description: 'Buckets',
        schema: z.object({ points: z.array(z.object({ at: z.string(), size: z.number(), entered: z.number(), exited: z.number() })) }),
      },
    },
  },
} satisfies Record<string, RouteSpec>

function view(s: ReturnType<SegmentEngine['get']>): SegmentView {
  return { ...s.definition, version: s.version, updatedAt: new Date(s.updatedAt).toISOString(), size: s.size }
}

export function segmentsRouter(engine: SegmentEngine, now: () => number = Date.now): Router {
  const r = Router()
  r.get(
    segmentSpecs.list.path,
    validated(segmentSpecs.list, ({ reply }) => {
      reply(200, { segments: engine.list().map(view) })
    }),
  )
  r.post(
    segmentSpecs.validate.path,
    validated(segmentSpecs.validate, async ({ body, reply }) => {
      await engine.validate(body.rule)
      reply(200, { valid: true })
    }),
  )
  r.post(
    segmentSpecs.preview.path,
    validated(segmentSpecs.preview, async ({ body, reply }) => {
      reply(200, await engine.preview(body.rule, body.sample))
    }),
  )
  r.post(
    segmentSpecs.create.path,
    validated(segmentSpecs.create, async ({ body, reply }) => {
      reply(201, view(await engine.save(body, false)))
    }),
  )
  r.get(
    segmentSpecs.get.path,
    validated(segmentSpecs.get, ({ params, reply }) => {
      reply(200, view(engine.get(params.id)))
    }),
  )
  r.put(
    segmentSpecs.update.path,
    validated(segmentSpecs.update, async ({ params, body, reply }) => {
      reply(200, view(await engine.save({ ...body, id: params.id }, true)))
    }),
  )
  r.delete(
    segmentSpecs.remove.path,
    validated(segmentSpecs.remove, async ({ params, reply }) => {
      await engine.remove(params.id)
      reply(204)
    }),
  )
  r.get(
    segmentSpecs.members.path,
    validated(segmentSpecs.members, async ({ params, query, reply }) => {
      const members = await engine.memberPage(params.id, query.after, query.limit)
      reply(200, { members, next: members.length === query.limit ? members[members.length - 1]! : null })
    }),
  )
  r.post(
    segmentSpecs.recompute.path,
    validated(segmentSpecs.recompute, async ({ params, reply }) => {
      const changes = await engine.recompute(params.id)
      reply(200, {
        entered: changes.filter((t) => t.entered).length,
        exited: changes.filter((t) => !t.entered).length,
        size: engine.get(params.id).size,
      })
    }),
  )
  r.get(
    segmentSpecs.history.path,
    validated(segmentSpecs.history, async ({ params, query, reply }) => {
      const to = query.to ? Date.parse(query.to) : now()
      const from = query.from ? Date.parse(query.from) : to - 30 * 86_400_000
      reply(200, { points: await engine.sizeHistory(params.id, query.bucket, from, to) })
    }),
  )
  return r
}

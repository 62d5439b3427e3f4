import { Router, type Request } from 'express'
import { z } from 'zod'
import { flagAuditEntry, flagDefinition, flagEvaluation, flagUpdate, storedFlagDefinition } from '../../experiments/flags/flagSchema.js'
import type { FlagService, StoredFlag } from '../../experiments/flags/flagService.js'
import { type RouteSpec, validated } from '../route.js'
import { errorBody } from '../../core/errors.js'

const keyParams = z.object({ key: z.string().min(1).max(200) })
/** A flag as answered: its stored definition, version and time of the last change (`view`). */
const flagView = storedFlagDefinition.extend({ version: z.number(), updatedAt: z.string() }).meta({ id: 'Flag' })
type FlagView = z.infer<typeof flagView>
const bad = {
  description: 'Invalid flag: `issues` name each field and rule (a value not of the flag’s type, duplicate rule ids, …)',
  schema: errorBody,
}
const unknown = { description: 'Unknown flag', schema: errorBody }
/** Who made a change, for the audit log (defaults to "admin"). */
const actorHeader = 'x-nudge-actor'

export const flagSpecs = {
  list: {
    method: 'get',
    path: '/api/flags',
    summary: 'All flags',
    tag: 'Flags',
    auth: 'admin',
    responses: { 200: { description: 'Flags', schema: z.object({ flags: z.array(flagView) }) } },
  },
  create: {
    method: 'post',
    path: '/api/flags',
    summary: `Create a flag (audited; set \`${actorHeader}\` to say who)`,
    tag: 'Flags',
    auth: 'admin',
    body: flagDefinition,
    responses: { 201: { description: 'Created', schema: flagView }, 400: bad, 409: { description: 'Exists already', schema: errorBody } },
  },
  get: {
    method: 'get',
    path: '/api/flags/:key',
    summary: 'One flag',
    tag: 'Flags',
    auth: 'admin',
    params: keyParams,
    responses: { 200: { description: 'Flag', schema: flagView }, 404: unknown },
  },
  update: {
    method: 'put',
    path: '/api/flags/:key',
    summary: 'Replace a flag; new evaluations use it at once (other processes within a second)',
    tag: 'Flags',
    auth: 'admin',
    params: keyParams,
    body: flagUpdate,
    responses: { 200: { description: 'Updated', schema: flagView }, 400: bad, 404: unknown },
  },
  remove: {
    method: 'delete',
    path: '/api/flags/:key',
    summary: 'Delete a flag (audited)',
    tag: 'Flags',
    auth: 'admin',
    params: keyParams,
    responses: { 204: { description: 'Deleted' }, 404: unknown },
  },
  audit: {
    method: 'get',
    path: '/api/flags/:key/audit',
    summary: 'Every change to a flag: who, when, before and after',
    tag: 'Flags',
    auth: 'admin',
    params: keyParams,
    responses: {
      200: {
        description: 'Changes, oldest first',
        schema: z.object({ changes: z.array(flagAuditEntry) }),
      },
    },
  },
  evaluate: {
    method: 'post',
    path: '/api/flags/:key/evaluate',
    summary: 'Evaluate a flag for a context, as OpenFeature would (value, reason, variant)',
    tag: 'Flags',
    auth: 'admin',
    params: keyParams,
    body: z.object({ context: z.record(z.string(), z.unknown()).default({}), defaultValue: z.unknown().optional() }),
    responses: { 200: { description: 'Evaluation', schema: flagEvaluation } },
  },
} satisfies Record<string, RouteSpec>

function view(f: StoredFlag): FlagView {
  return { ...f.definition, version: f.version, updatedAt: new Date(f.updatedAt).toISOString() }
}

const actorOf = (req: Request) => String(req.get(actorHeader) ?? 'admin').slice(0, 200) || 'admin'
const SERVED = { boolean: 'boolean', string: 'string', number: 'number', duration: 'number', json: 'object' } as const

export function flagsRouter(flags: FlagService): Router {
  const r = Router()
  r.get(
    flagSpecs.list.path,
    validated(flagSpecs.list, ({ reply }) => {
      reply(200, { flags: flags.list().map(view) })
    }),
  )
  r.post(
    flagSpecs.create.path,
    validated(flagSpecs.create, async ({ body, reply }, req) => {
      reply(201, view(await flags.save(body, actorOf(req), false)))
    }),
  )
  r.get(
    flagSpecs.get.path,
    validated(flagSpecs.get, ({ params, reply }) => {
      reply(200, view(flags.get(params.key)))
    }),
  )
  r.put(
    flagSpecs.update.path,
    validated(flagSpecs.update, async ({ params, body, reply }, req) => {
      reply(200, view(await flags.save({ ...body, key: params.key }, actorOf(req), true)))
    }),
  )
  r.delete(
    flagSpecs.remove.path,
    validated(flagSpecs.remove, async ({ params, reply }, req) => {
      await flags.remove(params.key, actorOf(req))
      reply(204)
    }),
  )
  r.get(
    flagSpecs.audit.path,
    validated(flagSpecs.audit, async ({ params, reply }) => {
      flags.get(params.key)
      reply(200, { changes: await flags.history(params.key) })
    }),
  )
  r.post(
    flagSpecs.evaluate.path,
    validated(flagSpecs.evaluate, ({ params, body, reply }) => {
      const type = flags.list().find((f) => f.definition.key === params.key)?.definition.type
      reply(200, flags.evaluate(params.key, type ? SERVED[type] : 'object', body.defaultValue ?? null, body.context))
    }),
  )
  return r
}

import { Router } from 'express'
import { z } from 'zod'
import type { UserRepository } from '../../ingest/identity/users.js'
import { messageUrls, type TrackingConfig } from '../../delivery/composeMessage.js'
import { buildRenderContext, type Behavior, type Product, type RecommendationBlock } from '../../content/renderContext.js'
import { TemplateRenderError } from '../../content/renderTemplate.js'
import { renderedMessage, storedTemplate, templateId, templateInput } from '../../content/templateSchema.js'
import type { TemplateStore } from '../../content/templateStore.js'
import { ValidationError, errorBody } from '../../core/errors.js'
import { discountCode } from '../../delivery/deliver.js'
import { type RouteSpec, validated } from '../route.js'

export const previewRequest = z
  .object({
    userId: z.string().min(1).max(256).optional().describe('Render with this user’s stored profile, behavior and recommendations'),
    profile: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Or a sample profile (traits); merged over the user’s when both are given'),
    event: z
      .object({
        name: z.string().min(1).max(200),
        properties: z.record(z.string(), z.unknown()).default({}),
        timestamp: z.iso.datetime({ offset: true }).optional(),
      })
      .optional()
      .describe('The trigger event to render with'),
    experiment: z.object({ key: z.string().optional(), variant: z.string().optional() }).optional(),
  })
  .strict()
  .meta({ id: 'TemplatePreviewRequest' })

const previewResponse = renderedMessage.extend({ version: z.number() }).meta({ id: 'TemplatePreview' })

const idParam = z.object({ id: templateId })

export const templateSpecs = {
  list: {
    method: 'get',
    path: '/api/templates',
    summary: 'Templates (the current version of each)',
    tag: 'Templates',
    auth: 'admin',
    responses: { 200: { description: 'Templates', schema: z.object({ templates: z.array(storedTemplate) }) } },
  },
  create: {
    method: 'post',
    path: '/api/templates',
    summary: 'Save a template (Liquid + MJML or HTML); each save is a new version. Syntax errors → 400 with line and column',
    tag: 'Templates',
    auth: 'admin',
    body: templateInput,
    responses: { 201: { description: 'Saved', schema: storedTemplate }, 400: { description: 'Does not compile', schema: errorBody } },
  },
  update: {
    method: 'put',
    path: '/api/templates/:id',
    summary: 'Save a new version of a template',
    tag: 'Templates',
    auth: 'admin',
    params: idParam,
    body: templateInput.omit({ id: true }),
    responses: { 200: { description: 'Saved', schema: storedTemplate }, 400: { description: 'Does not compile', schema: errorBody } },
  },
  get: {
    method: 'get',
    path: '/api/templates/:id',
    summary: 'The current version',
    tag: 'Templates',
    auth: 'admin',
    params: idParam,
    responses: { 200: { description: 'Template', schema: storedTemplate }, 404: { description: 'No such template', schema: errorBody } },
  },
  versions: {
    method: 'get',
    path: '/api/templates/:id/versions',
    summary: 'Every version',
    tag: 'Templates',
    auth: 'admin',
    params: idParam,
    responses: { 200: { description: 'Versions', schema: z.object({ versions: z.array(storedTemplate) }) } },
  },
  preview: {
    method: 'post',
    path: '/api/templates/:id/preview',
    summary: 'Render for a user (real profile, behavior and recommendations) or a sample profile, without sending',
    tag: 'Templates',
    auth: 'admin',
    params: idParam,
    body: previewRequest,
    responses: {
      200: { description: 'Rendered', schema: previewResponse },
      400: { description: 'Invalid, or the template does not render for this input', schema: errorBody },
    },
  },
} satisfies Record<string, RouteSpec>

export interface TemplateRouteDeps {
  templates: TemplateStore
  users: UserRepository
  tracking: TrackingConfig
  computed?: (userKey: string) => Promise<Record<string, unknown>>
  recommendations?: {
    forUser(userKey: string, block: RecommendationBlock, opts?: { productId?: string }): Product[]
    behavior(userKey: string): Behavior
  }
}

export function templatesRouter(d: TemplateRouteDeps): Router {
  const r = Router()
  r.get(
    templateSpecs.list.path,
    validated(templateSpecs.list, ({ reply }) => reply(200, { templates: d.templates.list() })),
  )
  r.post(
    templateSpecs.create.path,
    validated(templateSpecs.create, async ({ body, reply }) => reply(201, await d.templates.save(body))),
  )
  r.put(
    templateSpecs.update.path,
    validated(templateSpecs.update, async ({ params, body, reply }) => reply(200, await d.templates.save({ ...body, id: params.id }))),
  )
  r.get(
    templateSpecs.get.path,
    validated(templateSpecs.get, ({ params, reply }) => reply(200, d.templates.get(params.id))),
  )
  r.get(
    templateSpecs.versions.path,
    validated(templateSpecs.versions, async ({ params, reply }) => reply(200, { versions: await d.templates.versions(params.id) })),
  )
  r.post(
    templateSpecs.preview.path,
    validated(templateSpecs.preview, async ({ params, body, reply }) => {
      const userKey = body.userId ?? 'preview-user'
      // A real user: their stored traits and email (decrypted only in this process, as for a send).
      const storedTraits = body.userId ? await d.users.traits([body.userId]) : {}
      const contacts = body.userId ? await d.users.contacts([body.userId]) : {}
      const stored = {
        traits: storedTraits,
        email: contacts.email,
        computed: body.userId && d.computed ? await d.computed(body.userId) : undefined,
      }
      const traits = { ...stored.traits, ...(body.profile ?? {}) }
      const messageId = `preview-${Date.now().toString(36)}`
      const topic = d.templates.get(params.id).definition.topic
      const recs = d.recommendations
      try {
        const out = await d.templates.render(
          params.id,
          buildRenderContext({
            userKey,
            email: typeof traits.email === 'string' ? traits.email : stored?.email,
            traits,
            ...(stored?.computed ? { computed: stored.computed } : {}),
            trigger: {
              event: body.event?.name ?? 'Preview',
              properties: body.event?.properties ?? {},
              timestamp: body.event?.timestamp ? Date.parse(body.event.timestamp) : Date.now(),
            },
            experiment: body.experiment ?? {},
            message: { id: messageId, discountCode: discountCode(messageId) },
            urls: messageUrls(d.tracking, { messageId, userKey, topic }),
            ...(recs
              ? {
                  recommend: (b: RecommendationBlock, p?: string) => recs.forUser(userKey, b, p ? { productId: p } : {}),
                  behavior: recs.behavior(userKey),
                }
              : {}),
          }),
        )
        reply(200, { subject: out.subject, preheader: out.preheader, html: out.html, text: out.text, version: out.version })
      } catch (err) {
        if (err instanceof TemplateRenderError)
          throw new ValidationError(`The template does not render for this input: ${err.message}`, [
            { path: err.field, rule: 'render', message: err.message },
          ])
        throw err
      }
    }),
  )
  return r
}

import { z } from 'zod'
import type { RouteSpec } from './route.js'

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(specs: RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  const components: Record<string, unknown> = {}
  // Named schemas (`.meta({ id })`) become shared components; everything else is inlined.
  const toSchema = (schema: z.ZodType): unknown => {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>
    const { $schema: _ignored, $defs, ...rest } = json
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) components[name] = relink(def)
    return relink(rest)
  }
  const objectParams = (schema: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!schema) return []
    const json = toSchema(schema) as { properties?: Record<string, unknown>; required?: string[] }
    return Object.entries(json.properties ?? {}).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      schema: s,
    }))
  }
  for (const spec of specs) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}')
    const parameters = [...objectParams(spec.params, 'path'), ...objectParams(spec.query, 'query')]
    const body = spec.body ?? spec.documentedBody
    paths[path] ??= {}
    paths[path][spec.method] = {
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth === 'admin' ? [{ adminKey: [] }] : spec.auth === 'writeKey' ? [{ writeKey: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(body) } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(spec.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema
              ? { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema) } } }
              : r.contentType
                ? { content: { [r.contentType]: {} } }
                : {}),
          },
        ]),
      ),
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nudge',
      version: info.version,
      description:
        'Behavioral email journeys you can measure. Ingest is Segment-compatible; admin routes take `Authorization: Bearer <ADMIN_API_KEY>`.',
    },
    components: {
      schemas: components,
      securitySchemes: {
        writeKey: {
          type: 'http',
          scheme: 'basic',
          description: 'The source write key as the username, empty password (as Segment clients send it)',
        },
        adminKey: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY' },
      },
    },
    paths,
  }
}

function relink<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as T
}

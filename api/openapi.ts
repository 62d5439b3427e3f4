import { z } from 'zod'
import type { ResponseSpec, RouteSpec } from './route.js'

type Io = 'input' | 'output'

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests and type
 * answers. Requests are documented as they are sent (defaults optional), answers as they come
 * back (defaults filled in). Named schemas (`.meta({ id })`) become shared components; one that
 * reads differently the two ways is a second component, `<name>Output`, in answers.
 */
export function buildOpenApi(specs: RouteSpec[], info: { version: string }): Record<string, unknown> {
  const defs: Record<Io, Record<string, unknown>> = { input: {}, output: {} }
  // zod's local `#/$defs/<name>` references, marked with the side they were generated for.
  const toSchema = (schema: z.ZodType, io: Io = 'input'): unknown => {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>
    const { $schema: _ignored, $defs, ...rest } = json
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) defs[io][name] = mark(def, io)
    return mark(rest, io)
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
  const response = (r: ResponseSpec) => ({
    description: r.description,
    ...(r.schema
      ? { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema, 'output') } } }
      : r.contentType
        ? { content: { [r.contentType]: {} } }
        : {}),
  })
  const paths: Record<string, Record<string, unknown>> = {}
  for (const spec of specs) {
    const path = spec.path.replace(/:([A-Za-z_]+)/g, '{$1}')
    const parameters = [...objectParams(spec.params, 'path'), ...objectParams(spec.query, 'query')]
    // A custom-validated body (validated loosely, checked by its owner) documents its real schema.
    const body = spec.documentedBody ?? spec.body
    paths[path] ??= {}
    paths[path][spec.method] = {
      summary: spec.summary,
      tags: [spec.tag],
      security: spec.auth === 'admin' ? [{ adminKey: [] }] : spec.auth === 'writeKey' ? [{ writeKey: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(body) } } } } : {}),
      responses: Object.fromEntries(Object.entries(spec.responses).map(([status, r]) => [status, response(r)])),
    }
  }
  // A name whose answer form differs from its request form is `<name>Output` on the answer side.
  const twoForms = new Set(
    Object.keys(defs.output).filter((n) => n in defs.input && JSON.stringify(defs.input[n]) !== JSON.stringify(defs.output[n])),
  )
  const components: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(defs.output)) components[twoForms.has(name) ? `${name}Output` : name] = def
  Object.assign(components, defs.input)
  return relink(
    {
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
    },
    twoForms,
  )
}

/** Tags each local reference with the side it was generated for (resolved once all are known). */
function mark<T>(value: T, io: Io): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', `"#/$defs/${io}:`)) as T
}

function relink<T>(value: T, twoForms: Set<string>): T {
  const text = JSON.stringify(value).replace(/"#\/\$defs\/(input|output):([^"]+)"/g, (_m, io: string, name: string) =>
    io === 'output' && twoForms.has(name) ? `"#/components/schemas/${name}Output"` : `"#/components/schemas/${name}"`,
  )
  return JSON.parse(text) as T
}

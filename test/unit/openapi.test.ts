import { describe, expect, it } from 'vitest'
import { allSpecs } from '../../api/app.js'
import { buildOpenApi } from '../../api/openapi.js'
import { errorBody } from '../../core/errors.js'

/**
 * The document is generated from the route specs; these check the specs say enough: every route
 * documents its answers, every JSON answer has a real schema, and every error is the one Error.
 * (test/integration/openapi.responses.test.ts checks real answers against these schemas.)
 */
const doc = buildOpenApi(allSpecs, { version: 'test' }) as {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>
  components: { schemas: Record<string, unknown> }
}
const route = (s: { method: string; path: string }) => `${s.method.toUpperCase()} ${s.path}`
/** Answers without a JSON body: no content, a redirect, or a body of their own type (GIF, HTML, MIME). */
const bodiless = new Set([204, 302])
/** The one non-error body on an error status: /healthz's 503 is its report, naming the failed check. */
const reportsOnError = new Set(['GET /healthz 503'])

describe('the OpenAPI document', () => {
  it('every route documents a success answer', () => {
    for (const spec of allSpecs)
      expect(
        Object.keys(spec.responses).some((s) => Number(s) < 400),
        route(spec),
      ).toBe(true)
  })

  it('every success answer with a JSON body has a schema; others name their content type', () => {
    for (const spec of allSpecs)
      for (const [status, r] of Object.entries(spec.responses)) {
        if (Number(status) >= 400 || bodiless.has(Number(status))) continue
        // Metrics, GIFs, HTML pages and raw MIME have no JSON schema; they say what they are.
        const described = r.schema !== undefined || (r.contentType !== undefined && r.contentType !== 'application/json')
        expect(described, `${route(spec)} ${status}`).toBe(true)
      }
  })

  it('no JSON answer is a placeholder (an unconstrained value or an object of anything)', () => {
    const resolve = (s: unknown): Record<string, unknown> => {
      const ref = (s as { $ref?: string }).$ref
      return ref ? resolve(doc.components.schemas[ref.split('/').pop()!]) : (s as Record<string, unknown>)
    }
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods))
        for (const [status, r] of Object.entries(op.responses)) {
          const schema = r.content?.['application/json']?.schema
          if (schema === undefined) continue
          const s = resolve(schema)
          const where = `${method.toUpperCase()} ${path} ${status}`
          expect(Object.keys(s).filter((k) => k !== 'description').length, `${where}: an empty schema`).toBeGreaterThan(0)
          const freeObject = s.type === 'object' && !s.properties && !s.anyOf && !s.oneOf
          expect(freeObject, `${where}: an object of anything`).toBe(false)
        }
  })

  it('every error answer is the one Error schema, in the specs and in the document', () => {
    for (const spec of allSpecs)
      for (const [status, r] of Object.entries(spec.responses)) {
        if (Number(status) < 400 || reportsOnError.has(`${route(spec)} ${status}`)) continue
        expect(r.schema === errorBody, `${route(spec)} ${status}`).toBe(true)
      }
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods))
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) < 400 || reportsOnError.has(`${method.toUpperCase()} ${path} ${status}`)) continue
          expect(r.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' })
        }
    expect(doc.components.schemas.Error).toMatchObject({ required: ['error'] })
    expect(doc.components.schemas.FieldIssue).toMatchObject({ required: ['path', 'rule', 'message'] })
  })

  it('the merged concepts are one component each', () => {
    for (const name of ['Assignment', 'JourneyRun', 'JourneyRunState', 'Product', 'ProductInput', 'DefinitionWarning', 'ResultsWarning'])
      expect(doc.components.schemas[name], name).toBeDefined()
  })
})

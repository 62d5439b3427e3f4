import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { z } from 'zod'
import { parseOrThrow } from '../core/fieldIssues.js'

/**
 * A route is declared once: the same zod schemas validate the request here, type the response
 * its handler sends, and describe both in the OpenAPI document (api/openapi.ts).
 */
export type Auth = 'admin' | 'writeKey' | 'none'

/** One documented answer: JSON described by `schema`, or a body of `contentType` (HTML, a GIF), or none. */
export interface ResponseSpec {
  description: string
  schema?: z.ZodType
  contentType?: string
}

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete'
  path: string // express syntax, e.g. /api/users/:id
  summary: string
  tag: string
  auth: Auth
  params?: z.ZodObject
  query?: z.ZodObject
  body?: z.ZodType
  /** Documented request body when validation is custom (e.g. per-event batch checks). */
  documentedBody?: z.ZodType
  responses: Record<number, ResponseSpec>
}

export interface Validated<P, Q, B> {
  params: P
  query: Q
  body: B
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined

/** What a handler may send with a status: its schema's type, text or bytes for a content type, nothing otherwise. */
export type BodyOf<R> = R extends { schema: infer T extends z.ZodType }
  ? z.output<T>
  : R extends { contentType: string }
    ? string | Buffer
    : undefined

/**
 * Sends a documented response. The status must be one the spec declares and the body must have
 * that status's type, so a mapper returning the wrong shape fails `tsc` (errors are thrown as
 * typed errors and answered by api/errorHandler.ts, always with the one `Error` schema).
 */
export type Reply<S extends RouteSpec> = <C extends keyof S['responses'] & number>(
  status: C,
  ...body: BodyOf<S['responses'][C]> extends undefined ? [] : [body: BodyOf<S['responses'][C]>]
) => void

/** Checks a body against its documented schema (tests switch this on; see `checkResponses`). */
export type ResponseCheck = (spec: RouteSpec, status: number, body: unknown) => void
let responseCheck: ResponseCheck | undefined

/**
 * Test-only: every `reply` also runs `check` (e.g. parse the body with the documented schema and
 * record a mismatch). Off in production: a drift must not turn a good answer into a 500.
 */
export function checkResponses(check: ResponseCheck | undefined): void {
  responseCheck = check
}

/** The typed `reply` for a handler that reads its request itself (ingest, webhooks, health). */
export function replyTo<S extends RouteSpec>(spec: S, res: Response): Reply<S> {
  return ((status: number, body?: unknown) => {
    responseCheck?.(spec, status, body)
    res.status(status)
    const documented = spec.responses[status]
    if (body === undefined) res.end()
    else if (documented?.contentType && !documented.schema) res.type(documented.contentType).send(body)
    else res.json(body)
  }) as Reply<S>
}

/**
 * Wraps a handler so it receives validated params, query and body (400 naming the field otherwise)
 * and a typed `reply`. Its `res` has no typed body: `res.json(anything)` does not compile, so
 * every answer goes through `reply` (headers, `res.set(...)`, still work).
 */
export function validated<S extends RouteSpec>(
  spec: S,
  handler: (
    input: Validated<Infer<S['params']>, Infer<S['query']>, Infer<S['body']>> & { reply: Reply<S> },
    req: Request,
    res: Response<never>,
  ) => Promise<void> | void,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const input = {
        params: spec.params ? parseOrThrow(spec.params, req.params, 'path parameters') : undefined,
        query: spec.query ? parseOrThrow(spec.query, req.query, 'query parameters') : undefined,
        body: spec.body ? parseOrThrow(spec.body, req.body, 'request body') : undefined,
        reply: replyTo(spec, res),
      } as Validated<Infer<S['params']>, Infer<S['query']>, Infer<S['body']>> & { reply: Reply<S> }
      await handler(input, req, res as Response<never>)
    } catch (err) {
      next(err)
    }
  }
}

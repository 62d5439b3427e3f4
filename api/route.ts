import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { z } from 'zod'
import { parseOrThrow } from '../core/fieldIssues.js'

/**
 * A route is declared once: the same zod schemas validate the request here and describe it in
 * the OpenAPI document (api/openapi.ts).
 */
export type Auth = 'admin' | 'writeKey' | 'none'

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
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>
}

export interface Validated<P, Q, B> {
  params: P
  query: Q
  body: B
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined

/** Wraps a handler so it receives validated params, query and body (400 naming the field otherwise). */
export function validated<S extends RouteSpec>(
  spec: S,
  handler: (input: Validated<Infer<S['params']>, Infer<S['query']>, Infer<S['body']>>, req: Request, res: Response) => Promise<void> | void,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const input = {
        params: spec.params ? parseOrThrow(spec.params, req.params, 'path parameters') : undefined,
        query: spec.query ? parseOrThrow(spec.query, req.query, 'query parameters') : undefined,
        body: spec.body ? parseOrThrow(spec.body, req.body, 'request body') : undefined,
      } as Validated<Infer<S['params']>, Infer<S['query']>, Infer<S['body']>>
      await handler(input, req, res)
    } catch (err) {
      next(err)
    }
  }
}

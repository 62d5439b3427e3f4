import type { NextFunction, Request, Response } from 'express'
import { type ErrorBody, type ErrorCode, NudgeError } from '../core/errors.js'

/** The one place errors become HTTP: typed errors keep their status and code; anything else is a 500. */
export function errorHandler(
  log: (msg: string, extra?: Record<string, unknown>) => void,
  onError?: (code: string, status: number) => void,
) {
  return (thrown: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return
    const err = fromClientError(thrown)
    onError?.(err instanceof NudgeError ? err.code : 'internal', err instanceof NudgeError ? err.status : 500)
    if (err instanceof NudgeError) {
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds))
      if (err.status === 401 && req.path.startsWith('/v1/')) res.setHeader('WWW-Authenticate', 'Basic realm="nudge"')
      const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.issues.length ? { issues: err.issues } : {}) } }
      res.status(err.status).json(body)
      return
    }
    log('unhandled error', { path: req.path, err: err instanceof Error ? err.stack : String(err) })
    const body: ErrorBody = { error: { code: 'internal', message: 'Internal error; it has been logged' } }
    res.status(500).json(body)
  }
}

const CODES: Record<number, ErrorCode> = { 401: 'unauthorized', 404: 'not_found', 413: 'payload_too_large', 415: 'unsupported_encoding' }

/**
 * Express and its parsers report what was wrong with the request as http-errors with a 4xx
 * status (a path parameter that is not valid percent-encoding, say): the client's fault, so a
 * 4xx naming it — never a 500.
 */
function fromClientError(err: unknown): unknown {
  if (err instanceof NudgeError || err === null || typeof err !== 'object') return err
  const e = err as { status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined
  if (status === undefined || status < 400 || status > 499 || e.expose === false) return err
  const message = typeof e.message === 'string' && e.message ? e.message.slice(0, 200) : 'Bad request'
  return new NudgeError(CODES[status] ?? 'invalid_request', status, message, [{ path: '(request)', rule: 'http', message }])
}

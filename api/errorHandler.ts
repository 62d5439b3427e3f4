import type { NextFunction, Request, Response } from 'express'
import { NudgeError } from '../core/errors.js'

/** The one place errors become HTTP: typed errors keep their status and code; anything else is a 500. */
export function errorHandler(log: (msg: string, extra?: Record<string, unknown>) => void, onError?: (code: string, status: number) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return
    onError?.(err instanceof NudgeError ? err.code : 'internal', err instanceof NudgeError ? err.status : 500)
    if (err instanceof NudgeError) {
      if (err.retryAfterSeconds) res.setHeader('Retry-After', String(err.retryAfterSeconds))
      if (err.status === 401 && req.path.startsWith('/v1/')) res.setHeader('WWW-Authenticate', 'Basic realm="nudge"')
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.issues.length ? { issues: err.issues } : {}) } })
      return
    }
    log('unhandled error', { path: req.path, err: err instanceof Error ? err.stack : String(err) })
    res.status(500).json({ error: { code: 'internal', message: 'Internal error; it has been logged' } })
  }
}

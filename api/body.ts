import express, { type NextFunction, type Request, type Response } from 'express'
import { InvalidJsonError, NudgeError, PayloadTooLargeError, UnsupportedEncodingError } from '../core/errors.js'

declare module 'express-serve-static-core' {
  interface Request {
    /** Decompressed body size in bytes. */
    bodyBytes?: number
  }
}

/**
 * JSON bodies of any content type (sendBeacon posts text/plain), gzip or deflate accepted.
 * The limit applies to the *decompressed* size, so a small gzip bomb is still refused.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({
    limit: limitBytes,
    inflate: true,
    strict: false,
    type: () => true,
    verify: (req, _res, buf) => {
      ;(req as Request).bodyBytes = buf.length
    },
  })
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => next(err ? bodyError(err, limitBytes) : undefined))
}

function bodyError(err: unknown, limit: number): NudgeError | unknown {
  const e = err as { type?: string; message?: string; encoding?: string }
  switch (e.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`The request body exceeds ${limit} bytes (after decompression)`, [
        { path: '(body)', rule: 'max_bytes', message: `must be at most ${limit} bytes` },
      ])
    case 'entity.parse.failed':
      return new InvalidJsonError(`The body is not valid JSON: ${e.message ?? 'parse error'}`)
    case 'encoding.unsupported':
      return new UnsupportedEncodingError(String(e.encoding ?? 'unknown'))
    case 'request.aborted':
    case 'request.size.invalid':
      return new InvalidJsonError('The request body was incomplete')
    default:
      return err
  }
}

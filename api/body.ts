import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { ParamsDictionary } from 'express-serve-static-core'
import {
  InvalidJsonError,
  NudgeError,
  PayloadTooLargeError,
  UnsupportedCharsetError,
  UnsupportedEncodingError,
  ValidationError,
} from '../core/errors.js'
import { DEFAULT_MAX_DEPTH, jsonLimitIssues } from '../core/jsonLimits.js'

declare module 'express-serve-static-core' {
  interface Request {
    /** Decompressed body size in bytes. */
    bodyBytes?: number
    /** The decompressed body bytes exactly as received, for routes that asked (signature checks). */
    rawBody?: Buffer
  }
}

export interface BodyOptions {
  /** Largest accepted body, after decompression (a small gzip bomb is refused too). */
  limitBytes: number
  /** `json` (default): `req.body` is the parsed, checked value. `bytes`: `req.body` is the Buffer (forms). */
  as?: 'json' | 'bytes'
  /** Also keep the bytes in `req.rawBody`. */
  rawBody?: boolean
  maxDepth?: number
}

/** Compressions a client may use; anything else is a 415 before a byte is read. */
const ENCODINGS = new Set(['identity', 'gzip', 'deflate', 'br'])
/** Bodies are UTF-8 (US-ASCII is a subset); anything else is a 415 naming the charset. */
const CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii'])
const CHARSET_PARAM = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i

/**
 * The one body layer: every route that reads a body reads it through here, so each guard holds
 * everywhere — size (413), charset and content-encoding (415), corrupt compression, invalid
 * UTF-8, invalid JSON, nesting depth and lone surrogates (400). Every failure is a typed error
 * naming the problem; nothing a client sends can reach the error handler as an untyped 500.
 * Any content type is read (sendBeacon posts text/plain, SNS posts JSON as text/plain).
 */
// Generic in the params, so the handler after it keeps the params its own path declares.
export function readBody<P = ParamsDictionary>(opts: BodyOptions): RequestHandler<P> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  const raw = express.raw({ type: () => true, limit: opts.limitBytes, inflate: true })
  return (req: Request<P>, res: Response, next: NextFunction) => {
    // No body, nothing to refuse (a GET's stray Content-Encoding header is not a body).
    if (req.headers['transfer-encoding'] === undefined && req.headers['content-length'] === undefined) return next()
    const encoding =
      String(req.headers['content-encoding'] ?? 'identity')
        .trim()
        .toLowerCase() || 'identity'
    if (!ENCODINGS.has(encoding)) return next(new UnsupportedEncodingError(shown(encoding)))
    const charset = charsetOf(req.headers['content-type'])
    if (charset !== undefined && !CHARSETS.has(charset.toLowerCase())) return next(new UnsupportedCharsetError(shown(charset)))
    raw(req, res, (err?: unknown) => {
      if (err) return next(readError(err, opts.limitBytes, encoding))
      try {
        if (!Buffer.isBuffer(req.body)) return next() // no body at all
        const bytes = req.body
        req.bodyBytes = bytes.length
        if (opts.rawBody) req.rawBody = bytes
        if (opts.as === 'bytes') return next()
        req.body = parseJson(bytes, maxDepth)
        next()
      } catch (e) {
        next(e)
      }
    })
  }
}

/** The /v1 and /api bodies: JSON under `limitBytes`. */
export function jsonBody<P = ParamsDictionary>(limitBytes: number): RequestHandler<P> {
  return readBody<P>({ limitBytes })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function parseJson(bytes: Buffer, maxDepth: number): unknown {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new ValidationError('The body is not valid UTF-8', [{ path: '(body)', rule: 'utf8', message: 'must be valid UTF-8' }])
  }
  // An empty body reads as {} (as express.json did): "no fields", refused by the route's schema if it needs any.
  if (!text.trim()) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new InvalidJsonError(`The body is not valid JSON: ${(e as Error).message.slice(0, 200)}`)
  }
  assertJsonLimits(value, { maxDepth })
  return value
}

/** Depth and lone-surrogate checks for JSON that arrives some other way (pixel `data=`, an SNS message). */
export function assertJsonLimits(value: unknown, opts: { maxDepth?: number; prefix?: string } = {}): void {
  const issues = jsonLimitIssues(value, opts)
  if (issues.length)
    throw new ValidationError(
      `Invalid JSON value: ${issues
        .slice(0, 5)
        .map((i) => `${i.path} ${i.message}`)
        .join('; ')}`,
      issues,
    )
}

function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined
  const m = CHARSET_PARAM.exec(contentType)
  return m ? (m[1] ?? m[2] ?? '') : undefined
}

/** Header text echoed in an error: short and printable. */
function shown(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean
}

/** Whatever the reader failed with becomes a typed 4xx; the request was the problem, not Nudge. */
function readError(err: unknown, limit: number, encoding: string): NudgeError {
  if (err instanceof NudgeError) return err
  const e = err as { type?: string; status?: number; encoding?: string }
  if (e.type === 'entity.too.large' || e.status === 413)
    return new PayloadTooLargeError(`The request body exceeds ${limit} bytes (after decompression)`, [
      { path: '(body)', rule: 'max_bytes', message: `must be at most ${limit} bytes` },
    ])
  if (e.type === 'encoding.unsupported') return new UnsupportedEncodingError(shown(String(e.encoding ?? encoding)))
  if (encoding !== 'identity' && e.type !== 'request.aborted' && e.type !== 'request.size.invalid') {
    const message = `The body could not be decompressed as ${encoding}`
    return new ValidationError(message, [{ path: '(body)', rule: 'content_encoding', message: `is not valid ${encoding} data` }])
  }
  return new ValidationError('The request body was incomplete or unreadable', [
    { path: '(body)', rule: 'incomplete', message: 'was incomplete or unreadable' },
  ])
}

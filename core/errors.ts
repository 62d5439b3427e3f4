import { z } from 'zod'

/**
 * Typed errors with stable codes. Everything the HTTP layer can answer with is one of these;
 * `api/errorHandler.ts` maps them to a status and a JSON body once, in one place.
 */
/** One problem with a request, as every 4xx names it. */
export const fieldIssue = z
  .object({
    /** Where the problem is, e.g. `batch[3].timestamp` or `userId`. */
    path: z.string(),
    /** The rule that was broken, stable and machine-readable, e.g. `required`, `max_length`, `iso8601`. */
    rule: z.string(),
    message: z.string(),
    /** For errors in a text the request carried (a template): where, 1-based. */
    line: z.number().int().optional(),
    column: z.number().int().optional(),
  })
  .meta({ id: 'FieldIssue' })
export type FieldIssue = z.infer<typeof fieldIssue>

export const ERROR_CODES = [
  'invalid_request',
  'invalid_json',
  'unauthorized',
  'not_found',
  'payload_too_large',
  'unsupported_encoding',
  'unsupported_charset',
  'overloaded',
  'store_unavailable',
  'conflict',
  'not_ready',
  'internal',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** The one error body every 4xx and 5xx answers with (api/errorHandler.ts writes it). */
export const errorBody = z
  .object({ error: z.object({ code: z.enum(ERROR_CODES), message: z.string(), issues: z.array(fieldIssue).optional() }) })
  .meta({ id: 'Error' })
export type ErrorBody = z.infer<typeof errorBody>

export class NudgeError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly issues: FieldIssue[] = [],
    /** Seconds a client should wait before retrying (429/503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class ValidationError extends NudgeError {
  constructor(message: string, issues: FieldIssue[]) {
    super('invalid_request', 400, message, issues)
  }
}

export class InvalidJsonError extends NudgeError {
  constructor(message: string) {
    super('invalid_json', 400, message, [{ path: '(body)', rule: 'json', message }])
  }
}

export class UnauthorizedError extends NudgeError {
  constructor(message: string) {
    super('unauthorized', 401, message)
  }
}

export class NotFoundError extends NudgeError {
  constructor(message: string) {
    super('not_found', 404, message)
  }
}

export class PayloadTooLargeError extends NudgeError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super('payload_too_large', 413, message, issues)
  }
}

export class UnsupportedEncodingError extends NudgeError {
  constructor(encoding: string) {
    const message = `Content-Encoding "${encoding}" is not supported; send identity, gzip, deflate or br`
    super('unsupported_encoding', 415, message, [{ path: '(headers).content-encoding', rule: 'content_encoding', message }])
  }
}

export class UnsupportedCharsetError extends NudgeError {
  constructor(charset: string) {
    const message = `charset "${charset}" is not supported; send utf-8`
    super('unsupported_charset', 415, message, [{ path: '(headers).content-type', rule: 'charset', message }])
  }
}

/** The ingest queue is full: nothing was accepted, the client should retry later. */
export class OverloadedError extends NudgeError {
  constructor(message: string, retryAfterSeconds = 1) {
    super('overloaded', 429, message, [], retryAfterSeconds)
  }
}

/** The store refused or failed the write: nothing was acknowledged, the client should retry. */
export class StoreUnavailableError extends NudgeError {
  constructor(message: string, retryAfterSeconds = 2) {
    super('store_unavailable', 503, message, [], retryAfterSeconds)
  }
}

export class NotReadyError extends NudgeError {
  constructor(message: string) {
    super('not_ready', 503, message, [], 1)
  }
}

export class ConflictError extends NudgeError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super('conflict', 409, message, issues)
  }
}

/**
 * One HTTP request to a destination, classified the way delivery needs: delivered, worth retrying
 * (429, 408, 5xx, a timeout, a refused connection — with the server's Retry-After when it gave one),
 * or permanent (any other 4xx: the same request fails the same way however often it is sent).
 */
export type SendResult =
  | { status: 'ok'; body?: unknown }
  | { status: 'retry'; code: 'rate_limited' | 'unavailable' | 'timeout' | 'network'; reason: string; retryAfterMs?: number }
  | { status: 'permanent'; code: 'rejected'; reason: string }

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  url: string
  headers?: Record<string, string>
  /** JSON text (sent as is: a webhook signs these exact bytes). */
  body?: string
  timeoutMs: number
}

const RETRYABLE = new Set([408, 425, 429])
/** Longest Retry-After honoured: a server asking for an hour is answered by the backoff's own ceiling. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000

export async function httpCall(req: HttpRequest): Promise<SendResult> {
  let res: Response
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: AbortSignal.timeout(req.timeoutMs),
      redirect: 'error', // a redirect could carry credentials elsewhere
    })
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
    return timedOut
      ? { status: 'retry', code: 'timeout', reason: `no answer within ${req.timeoutMs} ms` }
      : { status: 'retry', code: 'network', reason: describe(err) }
  }
  const text = await res.text().catch(() => '')
  if (res.ok) return { status: 'ok', body: parseJson(text) }
  const reason = `HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ''}`
  if (RETRYABLE.has(res.status) || res.status >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'))
    return {
      status: 'retry',
      code: res.status === 429 ? 'rate_limited' : 'unavailable',
      reason,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    }
  }
  return { status: 'permanent', code: 'rejected', reason }
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), capped; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now
  if (!Number.isFinite(ms)) return undefined
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms))
}

function parseJson(text: string): unknown {
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message
}

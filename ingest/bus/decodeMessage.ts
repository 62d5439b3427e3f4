import type { KafkaMessage } from 'kafkajs'
import { toFieldIssues } from '../../core/fieldIssues.js'
import { jsonLimitIssues } from '../../core/jsonLimits.js'
import { normalizeEvent, storedSize } from '../normalize.js'
import { MAX_EVENT_BYTES, segmentEvent } from '../segmentSpec.js'
import type { IngestEvent } from '../types.js'
import { EXTERNAL_SOURCE, HEADER_RECEIVED_AT, HEADER_SOURCE } from './wireMessage.js'

export interface DecodeOptions {
  dropKey: (key: string) => boolean
  consentCategoryMap: Record<string, string>
}

export type Decoded = { ok: true; event: IngestEvent } | { ok: false; reason: string }

/**
 * One message off the topic → the event as the API would have stored it, or why not. The same
 * JSON limits, zod schema and size limit as the HTTP API: a system producing straight to the topic gets no
 * looser door. What fails here is a dead letter, never a retry — it would fail again.
 */
export function decodeMessage(message: KafkaMessage, opts: DecodeOptions): Decoded {
  if (!message.value) return { ok: false, reason: 'empty: a message without a value (a tombstone?)' }
  let json: unknown
  try {
    json = JSON.parse(message.value.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: `invalid_json: ${(err as Error).message}` }
  }
  // The HTTP body layer's depth and lone-surrogate checks: the store can never take either, so a
  // message holding one would be refused on every retry of its batch.
  const limits = jsonLimitIssues(json)
  if (limits.length) return { ok: false, reason: `json_limits: ${limits.map((i) => `${i.path} ${i.message}`).join('; ')}`.slice(0, 1000) }
  const parsed = segmentEvent.safeParse(json)
  if (!parsed.success) {
    const issues = toFieldIssues(parsed.error, json, [])
    return { ok: false, reason: `invalid_event: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`.slice(0, 1000) }
  }
  const event = normalizeEvent(parsed.data, {
    source: header(message, HEADER_SOURCE) ?? EXTERNAL_SOURCE,
    // Nudge's API stamps when it accepted the event; another producer's record time is the closest thing.
    receivedAt: Number(header(message, HEADER_RECEIVED_AT) ?? message.timestamp) || Date.now(),
    dropKey: opts.dropKey,
    consentCategoryMap: opts.consentCategoryMap,
  })
  if (storedSize(event) > MAX_EVENT_BYTES) return { ok: false, reason: `max_bytes: an event may be at most ${MAX_EVENT_BYTES} bytes` }
  return { ok: true, event }
}

function header(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name]
  if (v === undefined) return undefined
  const first = Array.isArray(v) ? v[0] : v
  return first === undefined ? undefined : first.toString()
}

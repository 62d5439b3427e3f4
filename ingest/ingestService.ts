import { type FieldIssue, PayloadTooLargeError, ValidationError } from '../core/errors.js'
import { type EventType, MAX_EVENT_BYTES, type SegmentEvent, batchRequest, segmentEvent } from './segmentSpec.js'
import { parseOrThrow, toFieldIssues } from '../core/fieldIssues.js'
import type { EventWriter } from './eventWriter.js'
import { type NormalizeOptions, normalizeEvent, storedSize } from './normalize.js'
import type { IngestEvent } from './types.js'
import { type BusMessage, wireValue } from './bus/wireMessage.js'

export interface IngestRequest {
  kind: EventType | 'batch'
  body: unknown
  source: string
  receivedAt: number
  /** Size of the (decompressed) body, to enforce the per-event limit without re-serialising small batches. */
  bodyBytes: number
}

/** Where acknowledged events go with `INGEST_MODE=kafka`: resolves once the bus holds them all. */
export interface EventBus {
  publish(messages: BusMessage[]): Promise<void>
}

export interface IngestServiceOptions {
  writer: EventWriter
  /** When set, requests are acknowledged once on the bus (its consumer stores them), not stored here. */
  bus?: EventBus
  dropKey: (key: string) => boolean
  consentCategoryMap: Record<string, string>
}

const MAX_REPORTED_ISSUES = 50

/**
 * Validate → normalise → durable write (or, with a bus, a durable produce). Whole requests are
 * accepted or rejected, never half. The validation is the same either way: the bus carries only
 * what the store would have taken.
 */
export class IngestService {
  constructor(private readonly opts: IngestServiceOptions) {}

  async ingest(req: IngestRequest): Promise<{ accepted: number }> {
    const bus = this.opts.bus
    if (bus) {
      const wire: BusMessage[] = []
      const events = this.prepare(req, wire)
      await bus.publish(wire)
      return { accepted: events.length }
    }
    const events = this.prepare(req)
    await this.opts.writer.write({ events })
    return { accepted: events.length }
  }

  /** `wire`, when given, receives each event as the bus carries it (Segment JSON keyed by user). */
  prepare(req: IngestRequest, wire?: BusMessage[]): IngestEvent[] {
    const base = {
      source: req.source,
      receivedAt: req.receivedAt,
      dropKey: this.opts.dropKey,
      consentCategoryMap: this.opts.consentCategoryMap,
    }
    if (req.kind !== 'batch') {
      if (req.bodyBytes > MAX_EVENT_BYTES)
        throw new PayloadTooLargeError(`An event may be at most ${MAX_EVENT_BYTES} bytes; this one is ${req.bodyBytes}`, [
          { path: '(body)', rule: 'max_bytes', message: `must be at most ${MAX_EVENT_BYTES} bytes` },
        ])
      if (!isRecord(req.body))
        throw new ValidationError('The body must be a JSON object', [{ path: '(body)', rule: 'type', message: 'must be an object' }])
      const raw = parseOrThrow(segmentEvent, { ...req.body, type: req.kind }, `${req.kind} event`)
      return [normalizeFor(raw, base, wire)]
    }

    const envelope = parseOrThrow(batchRequest, req.body, 'batch')
    const issues: FieldIssue[] = []
    const tooLarge: FieldIssue[] = []
    const events: IngestEvent[] = []
    // A body under the limit cannot hold an oversized event; otherwise each event is weighed as
    // it will be stored (its JSON is serialised once anyway, for the row).
    const checkSizes = req.bodyBytes > MAX_EVENT_BYTES
    const batchOpts = { ...base, batch: { sentAt: envelope.sentAt, context: envelope.context } }
    envelope.batch.forEach((item, i) => {
      const parsed = segmentEvent.safeParse(item)
      if (!parsed.success) {
        if (issues.length < MAX_REPORTED_ISSUES) issues.push(...toFieldIssues(parsed.error, item, ['batch', i]))
        return
      }
      const event = normalizeFor(parsed.data, batchOpts, wire)
      if (checkSizes && storedSize(event) > MAX_EVENT_BYTES)
        tooLarge.push({ path: `batch[${i}]`, rule: 'max_bytes', message: `must be at most ${MAX_EVENT_BYTES} bytes` })
      else events.push(event)
    })
    if (tooLarge.length)
      throw new PayloadTooLargeError(
        `${tooLarge.length} event(s) in the batch exceed ${MAX_EVENT_BYTES} bytes; nothing was stored`,
        tooLarge,
      )
    if (issues.length) {
      const bad = new Set(issues.map((i) => i.path.slice(0, i.path.indexOf(']') + 1)))
      throw new ValidationError(
        `${bad.size} of ${envelope.batch.length} events are invalid; nothing was stored: ${issues
          .slice(0, 5)
          .map((i) => `${i.path} ${i.message}`)
          .join('; ')}`,
        issues.slice(0, MAX_REPORTED_ISSUES),
      )
    }
    return events
  }
}

function normalizeFor(raw: SegmentEvent, opts: NormalizeOptions, wire: BusMessage[] | undefined): IngestEvent {
  if (!wire) return normalizeEvent(raw, opts)
  const value = wireValue(raw, opts) // first: normalising changes `raw` in place
  const event = normalizeEvent(raw, opts)
  wire.push({ key: event.userKey, value, source: opts.source, receivedAt: opts.receivedAt })
  return event
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

import type { FieldIssue } from '../core/errors.js'
import { PayloadTooLargeError, ValidationError } from '../core/errors.js'
import { type EventType, MAX_EVENT_BYTES, batchRequest, segmentEvent } from './segmentSpec.js'
import { parseOrThrow, toFieldIssues } from '../core/fieldIssues.js'
import type { EventWriter } from './eventWriter.js'
import { normalizeEvent, storedSize } from './normalize.js'
import type { IngestEvent } from './types.js'

export interface IngestRequest {
  kind: EventType | 'batch'
  body: unknown
  source: string
  receivedAt: number
  /** Size of the (decompressed) body, to enforce the per-event limit without re-serialising small batches. */
  bodyBytes: number
}

export interface IngestServiceOptions {
  writer: EventWriter
  dropKey: (key: string) => boolean
  consentCategoryMap: Record<string, string>
}

const MAX_REPORTED_ISSUES = 50

/** Validate → normalise → durable write. Whole requests are accepted or rejected, never half. */
export class IngestService {
  constructor(private readonly opts: IngestServiceOptions) {}

  async ingest(req: IngestRequest): Promise<{ accepted: number }> {
    const events = this.prepare(req)
    await this.opts.writer.write({ events })
    return { accepted: events.length }
  }

  prepare(req: IngestRequest): IngestEvent[] {
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
      return [normalizeEvent(raw, base)]
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
      const event = normalizeEvent(parsed.data, batchOpts)
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

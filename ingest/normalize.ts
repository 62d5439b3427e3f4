import { randomUUID } from 'node:crypto'
import type { SegmentEvent } from './segmentSpec.js'
import { NO_DROP, dropKeysDeep, liftContacts } from './minimize.js'
import type { ConsentSource, IngestEvent } from './types.js'

export interface NormalizeOptions {
  source: string
  receivedAt: number
  /** Batch-level fields Segment allows on /v1/batch; an event's own fields win. */
  batch?: { sentAt?: string; context?: Record<string, unknown> }
  dropKey: (key: string) => boolean
  /** CMP category (lowercased) → Nudge consent topic. */
  consentCategoryMap: Record<string, string>
}

/**
 * Clock-skew correction as Segment does it: a device clock may be wrong, but the difference
 * between two readings of the same clock (sentAt − timestamp) is right, so
 * event time = receivedAt − (sentAt − timestamp).
 */
export function correctedTimestamp(receivedAt: number, timestamp?: string, sentAt?: string): number {
  const t = timestamp ? Date.parse(timestamp) : undefined
  if (t === undefined) return receivedAt
  if (!sentAt) return t
  const skewed = receivedAt - (Date.parse(sentAt) - t)
  // A sentAt before the event's own timestamp means a broken client clock; trust receivedAt then.
  return skewed > receivedAt ? receivedAt : skewed
}

/** What an event weighs as stored — its JSON parts plus a margin for the fixed fields. */
export function storedSize(e: IngestEvent): number {
  return (
    e.json.properties.length +
    e.json.traits.length +
    e.json.context.length +
    e.event.length +
    e.name.length +
    e.userId.length +
    e.anonymousId.length +
    200
  )
}

export function normalizeEvent(raw: SegmentEvent, opts: NormalizeOptions): IngestEvent {
  const sentAtText = raw.sentAt ?? opts.batch?.sentAt
  const clientTime = raw.timestamp ?? raw.originalTimestamp
  // `raw` is freshly parsed request JSON that nothing else holds, so it is changed in place;
  // only the batch-level context is shared between events and must be copied.
  const context = opts.batch?.context ? { ...opts.batch.context, ...(raw.context ?? {}) } : (raw.context ?? {})
  const properties = 'properties' in raw && raw.properties ? raw.properties : {}
  const traits = 'traits' in raw && raw.traits ? raw.traits : {}
  const userId = raw.userId ?? ''
  const anonymousId = raw.anonymousId ?? ''

  const consent: IngestEvent['consent'] = []
  collectConsent(traits.consent, 'identify', consent, null)
  delete traits.consent
  const cmp = (context.consent as { categoryPreferences?: unknown } | undefined)?.categoryPreferences
  collectConsent(cmp, 'cmp', consent, opts.consentCategoryMap)

  // Contact details belong to the profile: lifted from identify traits and context.traits,
  // stripped (not kept) from everything else.
  const contacts = raw.type === 'identify' ? liftContacts(traits) : {}
  const contextTraits = context.traits as Record<string, unknown> | undefined
  if (contextTraits && typeof contextTraits === 'object') {
    const lifted = liftContacts((context.traits = { ...contextTraits }) as Record<string, unknown>)
    Object.assign(contacts, { ...lifted, ...contacts })
  }
  liftContacts(traits)
  liftContacts(properties)
  if (opts.dropKey !== NO_DROP) {
    dropKeysDeep(properties, opts.dropKey)
    dropKeysDeep(traits, opts.dropKey)
    dropKeysDeep(context, opts.dropKey)
  }

  return {
    messageId: raw.messageId ?? `nudge-${randomUUID()}`,
    source: opts.source,
    type: raw.type,
    event: raw.type === 'track' ? raw.event : '',
    name: (raw.type === 'page' || raw.type === 'screen') && raw.name ? raw.name : '',
    userId,
    anonymousId,
    userKey: userId || anonymousId,
    timestamp: correctedTimestamp(opts.receivedAt, clientTime, sentAtText),
    originalTimestamp: clientTime ? Date.parse(clientTime) : null,
    sentAt: sentAtText ? Date.parse(sentAtText) : null,
    receivedAt: opts.receivedAt,
    properties,
    traits,
    context,
    json: { properties: JSON.stringify(properties), traits: JSON.stringify(traits), context: JSON.stringify(context) },
    groupId: raw.type === 'group' ? raw.groupId : '',
    previousId: raw.type === 'alias' ? raw.previousId : '',
    contacts,
    consent,
  }
}

function collectConsent(
  value: unknown,
  source: ConsentSource,
  out: IngestEvent['consent'],
  categoryMap: Record<string, string> | null,
): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return
  for (const [name, granted] of Object.entries(value as Record<string, unknown>)) {
    if (typeof granted !== 'boolean') continue
    const lower = name.toLowerCase()
    const topic = categoryMap ? (categoryMap[lower] ?? lower) : lower
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(topic)) continue
    // Several CMP categories can map to one topic; withholding any of them withholds the topic.
    const existing = out.find((c) => c.topic === topic && c.source === source)
    if (existing) existing.granted = existing.granted && granted
    else out.push({ topic, granted, source })
  }
}

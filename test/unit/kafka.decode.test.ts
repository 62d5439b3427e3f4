import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { decodeMessage } from '../../ingest/bus/decodeMessage.js'
import type { BusMessage } from '../../ingest/bus/wireMessage.js'
import type { EventWriter } from '../../ingest/eventWriter.js'
import { IngestService } from '../../ingest/ingestService.js'
import { makeKeyMatcher } from '../../ingest/minimize.js'

const opts = { dropKey: makeKeyMatcher(['card_number']), consentCategoryMap: { marketing: 'email_marketing' } }

function asKafka(m: BusMessage, offset = 0): KafkaMessage {
  return {
    key: Buffer.from(m.key),
    value: Buffer.from(m.value),
    headers: { 'nudge-source': Buffer.from(m.source), 'nudge-received-at': Buffer.from(String(m.receivedAt)) },
    timestamp: '0',
    offset: String(offset),
    attributes: 0,
    size: 0,
  } as unknown as KafkaMessage
}

describe('the bus carries what the store would have taken', () => {
  it('an event through the topic is normalised exactly as the API normalises it (ids fixed, batch fields folded in, contacts lifted, consent read)', () => {
    const published: BusMessage[][] = []
    const service = new IngestService({ writer: {} as EventWriter, bus: { publish: async (m) => void published.push(m) }, ...opts })
    const body = {
      sentAt: '2026-01-01T00:00:10Z',
      context: { ip: '10.0.0.1', locale: 'fr-FR' },
      batch: [
        { type: 'identify', userId: 42, traits: { email: 'a@example.com', plan: 'pro', consent: { marketing: true } } },
        {
          type: 'track',
          anonymousId: 'anon-1',
          event: 'Order Completed',
          timestamp: '2026-01-01T00:00:05Z',
          properties: { card_number: 'x', total: 9 },
        },
      ],
    }
    const wire: BusMessage[] = []
    const direct = service.prepare(
      { kind: 'batch', body: structuredClone(body), source: 'web', receivedAt: 1_767_225_620_000, bodyBytes: 400 },
      wire,
    )
    expect(wire.map((w) => w.key)).toEqual(['42', 'anon-1'])
    const decoded = wire.map((w, i) => decodeMessage(asKafka(w, i), opts))
    expect(decoded.map((d) => (d.ok ? d.event : d.reason))).toEqual(direct)
    expect(direct[0]!.messageId).toMatch(/^nudge-/)
    expect(direct[0]!.contacts.email).toBe('a@example.com')
    expect(direct[1]!.properties).toEqual({ total: 9 })
  })

  it('a message from another producer (no Nudge headers) takes the record time and the source `kafka`', () => {
    const message = {
      key: null,
      value: Buffer.from(JSON.stringify({ type: 'track', userId: 'u', event: 'Signed Up', messageId: 'ext-1' })),
      headers: {},
      timestamp: '1767225600000',
      offset: '7',
      attributes: 0,
      size: 0,
    } as unknown as KafkaMessage
    const d = decodeMessage(message, opts)
    expect(d.ok && { source: d.event.source, receivedAt: d.event.receivedAt, messageId: d.event.messageId }).toEqual({
      source: 'kafka',
      receivedAt: 1_767_225_600_000,
      messageId: 'ext-1',
    })
  })

  it('what the API would refuse is a dead letter with its rule: bad JSON, a schema failure, an oversized event, an empty value', () => {
    const msg = (value: string | null) =>
      ({
        key: null,
        value: value === null ? null : Buffer.from(value),
        headers: {},
        timestamp: '0',
        offset: '0',
      }) as unknown as KafkaMessage
    const reason = (value: string | null) => {
      const d = decodeMessage(msg(value), opts)
      return d.ok ? 'stored' : d.reason.split(':')[0]
    }
    expect(reason('{not json')).toBe('invalid_json')
    expect(reason(JSON.stringify({ type: 'track', event: 'x' }))).toBe('invalid_event')
    expect(reason(JSON.stringify({ type: 'track', userId: 'u', event: 'x', properties: { blob: 'y'.repeat(40_000) } }))).toBe('max_bytes')
    expect(reason(null)).toBe('empty')
    // The body layer's JSON limits hold on the bus too: a lone surrogate, a value nested past the depth limit.
    expect(reason('{"type":"track","userId":"u","event":"x","properties":{"s":"\\ud800"}}')).toBe('json_limits')
    expect(reason(`{"type":"track","userId":"u","event":"x","properties":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`)).toBe('json_limits')
  })
})

import { describe, expect, it } from 'vitest'
import { makeKeyMatcher } from '../../ingest/minimize.js'
import { correctedTimestamp, normalizeEvent } from '../../ingest/normalize.js'
import { segmentEvent } from '../../ingest/segmentSpec.js'

const opts = {
  source: 'web',
  receivedAt: Date.parse('2026-05-01T12:00:00.000Z'),
  dropKey: makeKeyMatcher(['card_number', 'password']),
  consentCategoryMap: { analytics: 'tracking', advertising: 'marketing', marketing: 'marketing' },
}
const parse = (e: unknown) => segmentEvent.parse(e)

describe('normalizeEvent', () => {
  it('skew: receivedAt − (sentAt − timestamp)', () => {
    expect(correctedTimestamp(opts.receivedAt, '2026-05-01T14:00:00.000Z', '2026-05-01T14:00:05.000Z')).toBe(opts.receivedAt - 5000)
    expect(correctedTimestamp(opts.receivedAt, '2020-01-01T00:00:00.000Z')).toBe(Date.parse('2020-01-01T00:00:00.000Z'))
    expect(correctedTimestamp(opts.receivedAt)).toBe(opts.receivedAt)
    // sentAt before timestamp: a broken clock; never place an event in the future
    expect(correctedTimestamp(opts.receivedAt, '2026-05-01T14:00:05.000Z', '2026-05-01T14:00:00.000Z')).toBe(opts.receivedAt)
  })

  it('uses userId as the profile key, falling back to anonymousId; numeric ids become text', () => {
    expect(normalizeEvent(parse({ type: 'track', event: 'E', userId: 42 }), opts).userKey).toBe('42')
    expect(normalizeEvent(parse({ type: 'track', event: 'E', anonymousId: 'a1' }), opts).userKey).toBe('a1')
  })

  it('lifts contacts out of identify traits and context.traits, strips them elsewhere', () => {
    const e = normalizeEvent(
      parse({ type: 'identify', userId: 'u', traits: { email: 'a@b.co', name: 'A' }, context: { traits: { phone: '+1 555' } } }),
      opts,
    )
    expect(e.contacts).toEqual({ email: 'a@b.co', phone: '+1 555' })
    expect(e.traits).toEqual({ name: 'A' })
    expect(e.context).toEqual({ traits: {} })
    const t = normalizeEvent(parse({ type: 'track', userId: 'u', event: 'E', properties: { email: 'x@y.z', ok: 1 } }), opts)
    expect(t.properties).toEqual({ ok: 1 })
    expect(t.contacts).toEqual({})
  })

  it('collects consent from traits and from a CMP (category map, unmapped kept by name, any decline wins)', () => {
    const e = normalizeEvent(
      parse({
        type: 'identify',
        userId: 'u',
        traits: { consent: { marketing: true } },
        context: { consent: { categoryPreferences: { Advertising: false, Marketing: true, Analytics: true, C0004: true, bad: 'yes' } } },
      }),
      opts,
    )
    expect(e.consent).toEqual([
      { topic: 'marketing', granted: true, source: 'identify' },
      { topic: 'marketing', granted: false, source: 'cmp' },
      { topic: 'tracking', granted: true, source: 'cmp' },
      { topic: 'c0004', granted: true, source: 'cmp' },
    ])
    expect(e.traits).toEqual({})
  })

  it('drops configured keys at any depth, and serialises what is kept once', () => {
    const e = normalizeEvent(
      parse({ type: 'track', userId: 'u', event: 'E', properties: { card_number: '4111', nested: [{ Password: 'p', keep: true }] } }),
      opts,
    )
    expect(e.properties).toEqual({ nested: [{ keep: true }] })
    expect(e.json.properties).toBe('{"nested":[{"keep":true}]}')
  })

  it('never lets a shared batch context leak one event’s contacts into another', () => {
    const batch = { context: { traits: { email: 'shared@x.io' } } }
    const a = normalizeEvent(parse({ type: 'track', userId: 'a', event: 'E' }), { ...opts, batch })
    const b = normalizeEvent(parse({ type: 'track', userId: 'b', event: 'E' }), { ...opts, batch })
    expect(a.contacts).toEqual({ email: 'shared@x.io' })
    expect(b.contacts).toEqual({ email: 'shared@x.io' })
    expect(b.json.context).toBe('{"traits":{}}')
  })

  it('keeps the given messageId, or makes one', () => {
    expect(normalizeEvent(parse({ type: 'track', event: 'E', userId: 'u', messageId: 'm-1' }), opts).messageId).toBe('m-1')
    expect(normalizeEvent(parse({ type: 'track', event: 'E', userId: 'u' }), opts).messageId).toMatch(/^nudge-/)
  })
})

describe('isoDateTime: only days that exist', () => {
  it('refuses 30 February and 29 February outside a leap year; keeps leap days and zoned times', async () => {
    const { isoDateTime } = await import('../../core/wireSchemas.js')
    for (const bad of ['2024-02-30T00:00:00Z', '2023-02-29T10:00:00Z', '2024-04-31T00:00:00+02:00', '2024-13-01T00:00:00Z'])
      expect(isoDateTime.safeParse(bad).success, bad).toBe(false)
    for (const good of ['2024-02-29T23:30:00-05:00', '2024-12-31T23:59:59.999Z', '2000-02-29T00:00:00Z'])
      expect(isoDateTime.safeParse(good).success, good).toBe(true)
  })
})

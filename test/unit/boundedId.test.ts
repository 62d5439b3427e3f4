import { describe, expect, it } from 'vitest'
import { segmentEvent } from '../../ingest/segmentSpec.js'
import { ID_LIMITS, boundedId, boundedMessageId } from '../../core/boundedId.js'
import { cutUtf8, utf8Length } from '../../core/textBounds.js'

const uuid = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b'
const inputs = [
  '',
  'journey:cart:u1',
  'x'.repeat(300),
  '😀'.repeat(300),
  'مرحبا بالعالم '.repeat(30), // RTL
  'e\u0301'.repeat(200), // combining marks
  '👩‍👩‍👧‍👦'.repeat(50), // ZWJ sequences
  `journey:cart-abandonment:${'u'.repeat(256)}:${uuid}`,
  'a\ud800b', // a lone surrogate
  `x~${'a'.repeat(26)}`, // shaped like a hashed id
]

describe('boundedId: every id Nudge composes fits its limit, by construction', () => {
  it('stays within the bound in UTF-8 bytes (so also in characters), and is well-formed text', () => {
    for (const limit of [40, ID_LIMITS.messageId, ID_LIMITS.workflowId])
      for (const raw of inputs) {
        const id = boundedId(raw, limit)
        expect(utf8Length(id)).toBeLessThanOrEqual(limit)
        expect(id.length).toBeLessThanOrEqual(limit)
        expect(/\p{Surrogate}/u.test(id)).toBe(false)
        expect(Buffer.from(id, 'utf8').toString('utf8')).toBe(id)
      }
  })

  it('keeps an id that fits as it is (readable, and the same as before for existing runs)', () => {
    expect(boundedId('journey:cart:u1:c1', ID_LIMITS.workflowId)).toBe('journey:cart:u1:c1')
    expect(boundedId('x'.repeat(100), 100)).toBe('x'.repeat(100))
  })

  it('keeps a readable prefix of a long id and ends it in a hash', () => {
    const id = boundedMessageId(`journey:cart:${'u'.repeat(256)}:checkout:${uuid}`)
    expect(id.startsWith('journey:cart:uuu')).toBe(true)
    expect(id).toMatch(/~[a-z2-7]{26}$/)
  })

  it('is deterministic: the same input gives the same id (retries, replays, other processes)', () => {
    for (const raw of inputs) expect(boundedId(raw, 100)).toBe(boundedId(String(raw), 100))
  })

  it('gives distinct ids for distinct long inputs sharing a prefix', () => {
    const prefix = `journey:cart:${'u'.repeat(200)}:`
    const ids = new Set<string>()
    for (let i = 0; i < 1000; i++) ids.add(boundedMessageId(`${prefix}${i}`))
    expect(ids.size).toBe(1000)
    // Texts that differ only in a lone surrogate (the same once sent as UTF-8) stay apart too.
    expect(boundedId('a\ud800', 100)).not.toBe(boundedId('a\ud801', 100))
    expect(boundedId('a\ud800', 100)).not.toBe(boundedId('a\ufffd', 100))
  })

  it('never returns, for a short input, the id a long input was hashed to', () => {
    const long = boundedMessageId('y'.repeat(500))
    expect(boundedMessageId(long)).not.toBe(long) // a raw id shaped like a hashed one is hashed again
    expect(utf8Length(boundedMessageId(long))).toBeLessThanOrEqual(100)
  })

  it('a bounded message id is one ingest accepts (the limit is the schema’s)', () => {
    for (const raw of inputs) {
      const parsed = segmentEvent.safeParse({ type: 'identify', userId: 'u1', messageId: boundedMessageId(`journey:j:${raw}:${uuid}`) })
      expect(parsed.success).toBe(true)
    }
    expect(segmentEvent.safeParse({ type: 'identify', userId: 'u1', messageId: 'x'.repeat(ID_LIMITS.messageId + 1) }).success).toBe(false)
  })

  it('cutUtf8 cuts between code points and within the bound', () => {
    expect(cutUtf8('😀😀', 5)).toBe('😀')
    expect(cutUtf8('ab\ud800', 10)).toBe('ab\ufffd')
    expect(utf8Length(cutUtf8('é'.repeat(300), 255))).toBeLessThanOrEqual(255)
  })
})

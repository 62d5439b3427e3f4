import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createContactCipher, maskContact, parseEncryptionKey } from '../../core/contactCipher.js'

describe('contact encryption (AES-256-GCM)', () => {
  const cipher = createContactCipher(randomBytes(32))

  it('round-trips and never produces the same ciphertext twice', () => {
    const a = cipher.encrypt('ann@example.com')
    const b = cipher.encrypt('ann@example.com')
    expect(a).not.toBe(b)
    expect(cipher.decrypt(a)).toBe('ann@example.com')
  })

  it('refuses a tampered value or another key', () => {
    const sealed = cipher.encrypt('ann@example.com')
    const parts = sealed.split('.')
    const flipped = Buffer.from(parts[3]!, 'base64url')
    flipped[0]! ^= 1
    expect(() => cipher.decrypt([...parts.slice(0, 3), flipped.toString('base64url')].join('.'))).toThrow()
    expect(() => createContactCipher(randomBytes(32)).decrypt(sealed)).toThrow()
  })

  it('parses hex and base64 keys of exactly 32 bytes', () => {
    expect(parseEncryptionKey('ab'.repeat(32))).toHaveLength(32)
    expect(parseEncryptionKey(randomBytes(32).toString('base64'))).toHaveLength(32)
    expect(() => parseEncryptionKey('short')).toThrow(/32 bytes/)
  })

  it('masks for display', () => {
    expect(maskContact('email', 'ann@example.com')).toBe('a***@example.com')
    expect(maskContact('phone', '+47 555 12 345')).toBe('***2345')
  })
})

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/**
 * AES-256-GCM for contact details (email, phone) at rest. The stored form is
 * `v1.<iv>.<tag>.<ciphertext>` in base64url, so a key rotation can add `v2` later
 * without guessing what an old value is.
 */
export interface ContactCipher {
  encrypt(plain: string): string
  decrypt(sealed: string): string
}

/** The text form of a 32-byte key: 64 hex characters or base64 (what a setting may hold; parseEncryptionKey reads it). */
export const KEY_TEXT = /^([0-9a-fA-F]{64}|[A-Za-z0-9+/=_-]{43,44})$/

export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim()
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  if (key.length !== 32) throw new Error('must be 32 bytes, given as 64 hex characters or base64')
  return key
}

export function createContactCipher(key: Buffer): ContactCipher {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key')
  return {
    encrypt(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.')
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.')
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed contact value')
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    },
  }
}

/** For display outside an export: enough to recognise, not enough to use. */
export function maskContact(kind: 'email' | 'phone', value: string): string {
  if (kind === 'email') {
    const at = value.indexOf('@')
    if (at <= 0) return '***'
    return `${value[0]}***${value.slice(at)}`
  }
  const digits = value.replace(/\D/g, '')
  return digits.length <= 4 ? '***' : `***${digits.slice(-4)}`
}

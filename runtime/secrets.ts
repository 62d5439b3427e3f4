import { hkdfSync, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEncryptionKey } from '../core/contactCipher.js'

export interface Secrets {
  encryptionKey: Buffer
  /** HMAC key for contact lookup hashes (derived, so one secret is all an operator manages). */
  lookupKey: Buffer
  /** Salt for the hashed ids kept in the erasure log. */
  erasureSalt: Buffer
  /** Signs tracking, unsubscribe and view-in-browser links. */
  trackingKey: Buffer
}

/**
 * NUDGE_ENCRYPTION_KEY from the environment; in embedded mode without one, a key is generated
 * once into the data directory (mode 600) so a restart can still read what it wrote.
 */
export function loadSecrets(envKey: string | undefined, dataDir: string, embedded: boolean, warn: (m: string) => void): Secrets {
  let key: Buffer
  if (envKey) key = parseEncryptionKey(envKey)
  else if (!embedded) throw new Error('NUDGE_ENCRYPTION_KEY is required with an external ClickHouse (CLICKHOUSE_URL): 32 bytes, hex or base64')
  else {
    const file = join(dataDir, 'encryption.key')
    if (existsSync(file)) key = parseEncryptionKey(readFileSync(file, 'utf8'))
    else {
      mkdirSync(dataDir, { recursive: true })
      key = randomBytes(32)
      writeFileSync(file, key.toString('hex'), { mode: 0o600 })
      chmodSync(file, 0o600)
      warn(`Generated a contact-encryption key in ${file}; set NUDGE_ENCRYPTION_KEY in production`)
    }
  }
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32))
  return { encryptionKey: key, lookupKey: derive('nudge/contact-lookup'), erasureSalt: derive('nudge/erasure-log'), trackingKey: derive('nudge/tracking-links') }
}

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
  /** Signs tracking, unsubscribe and view-in-browser links. Independent of the encryption key. */
  linkSigningKey: Buffer
  /** Also accepted when verifying a link, never used to sign: keys being rotated out. */
  previousLinkSigningKeys: Buffer[]
}

export interface SecretSettings {
  /** NUDGE_ENCRYPTION_KEY */
  encryptionKey?: string
  /** NUDGE_LINK_SIGNING_KEY */
  linkSigningKey?: string
  /** NUDGE_LINK_SIGNING_KEY_PREVIOUS: comma-separated keys, or LEGACY_LINK_KEY */
  previousLinkSigningKeys?: string
  dataDir: string
  /** Embedded store: one process, so a key generated into the data directory is shared by everything that needs it. */
  embedded: boolean
}

/**
 * In NUDGE_LINK_SIGNING_KEY_PREVIOUS: also accept links signed by Nudge before the link-signing key
 * became its own secret (an HKDF of the encryption key). Whoever holds the encryption key can forge
 * those, so this is for a rotation window only (mail already in inboxes keeps its unsubscribe link).
 */
export const LEGACY_LINK_KEY = 'derived-from-encryption-key'

/**
 * Two independent secrets, so one leaking does not give the other:
 * - the contact-encryption key (NUDGE_ENCRYPTION_KEY), from which only contact-data keys are
 *   derived (lookup hashes, erasure-log salt);
 * - the link-signing key (NUDGE_LINK_SIGNING_KEY), which signs every tracking, unsubscribe and
 *   view-in-browser link. Forging one of those needs this key and nothing else.
 * Each comes from the environment; in embedded mode without one, it is generated once into its own
 * file in the data directory (mode 600) so a restart reads what it wrote. With an external
 * ClickHouse several processes must agree on both, so both are required.
 */
export function loadSecrets(s: SecretSettings, warn: (m: string) => void): Secrets {
  const encryptionKey = loadKey('NUDGE_ENCRYPTION_KEY', s.encryptionKey, 'encryption.key', 'contact-encryption', s, warn)
  const linkSigningKey = loadKey('NUDGE_LINK_SIGNING_KEY', s.linkSigningKey, 'link-signing.key', 'link-signing', s, warn)
  // The same bytes in both would undo the point of having two.
  if (linkSigningKey.equals(encryptionKey)) throw new Error('NUDGE_LINK_SIGNING_KEY: must differ from NUDGE_ENCRYPTION_KEY')
  const previousLinkSigningKeys = parsePreviousKeys(s.previousLinkSigningKeys).map((k) =>
    k === LEGACY_LINK_KEY ? legacyLinkSigningKey(encryptionKey) : k,
  )
  if (previousLinkSigningKeys.some((k) => k.equals(linkSigningKey)))
    throw new Error('NUDGE_LINK_SIGNING_KEY_PREVIOUS: must not repeat NUDGE_LINK_SIGNING_KEY')
  if (s.previousLinkSigningKeys?.includes(LEGACY_LINK_KEY))
    warn(
      `NUDGE_LINK_SIGNING_KEY_PREVIOUS includes ${LEGACY_LINK_KEY}: links signed with a key derived from the encryption key still verify (anyone with that key can forge them); remove it once old mail no longer matters`,
    )
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), info, 32))
  return {
    encryptionKey,
    lookupKey: derive('nudge/contact-lookup'),
    erasureSalt: derive('nudge/erasure-log'),
    linkSigningKey,
    previousLinkSigningKeys,
  }
}

/** The link key of Nudge before it had its own (HKDF of the encryption key): only for LEGACY_LINK_KEY. */
export function legacyLinkSigningKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'nudge/tracking-links', 32))
}

/** NUDGE_LINK_SIGNING_KEY_PREVIOUS → keys (and LEGACY_LINK_KEY as given); throws naming the variable. */
export function parsePreviousKeys(text: string | undefined): (Buffer | typeof LEGACY_LINK_KEY)[] {
  return (text ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x, i) => {
      if (x === LEGACY_LINK_KEY) return LEGACY_LINK_KEY
      try {
        return parseEncryptionKey(x)
      } catch (err) {
        throw new Error(`NUDGE_LINK_SIGNING_KEY_PREVIOUS: entry ${i + 1} ${(err as Error).message} (or ${LEGACY_LINK_KEY})`, {
          cause: err,
        })
      }
    })
}

function loadKey(
  name: string,
  value: string | undefined,
  fileName: string,
  what: string,
  s: SecretSettings,
  warn: (m: string) => void,
): Buffer {
  if (value) {
    try {
      return parseEncryptionKey(value)
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`, { cause: err })
    }
  }
  if (!s.embedded)
    throw new Error(`${name} is required with an external ClickHouse (CLICKHOUSE_URL): 32 bytes, hex or base64 (e.g. openssl rand -hex 32)`)
  const file = join(s.dataDir, fileName)
  if (existsSync(file)) return parseEncryptionKey(readFileSync(file, 'utf8'))
  mkdirSync(s.dataDir, { recursive: true })
  const key = randomBytes(32)
  try {
    // 'wx': never overwrite a key another start wrote in the meantime; use that one instead.
    writeFileSync(file, key.toString('hex'), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseEncryptionKey(readFileSync(file, 'utf8'))
    throw err
  }
  chmodSync(file, 0o600)
  warn(`Generated a ${what} key in ${file}; set ${name} in production`)
  return key
}

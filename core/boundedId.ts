import { createHash } from 'node:crypto'
import { LONE_SURROGATE, cutUtf8, utf8Length } from './textBounds.js'

/**
 * The limits of the ids Nudge composes, in UTF-8 bytes (a byte bound is also a bound on
 * characters and UTF-16 units, whichever the receiving side counts).
 */
export const ID_LIMITS = {
  /**
   * An event's message id: what `/v1/*` accepts (api/schemas/segment.ts, 100 characters). Ids
   * Nudge writes as events (a journey's trait update, a segment or schedule trigger) obey it too,
   * or ingest refuses them — forever, to a retrying activity.
   */
  messageId: 100,
  /**
   * A workflow id. Temporal refuses ids over `limit.maxIDLength` (1000 bytes by default); a
   * quarter of that keeps ids readable in the UI and leaves room for a cluster configured tighter.
   */
  workflowId: 255,
  /**
   * A Keyword search attribute value that is queried for equality (UserId). Temporal's SQL
   * visibility stores custom Keywords as VARCHAR(255) (MySQL/PostgreSQL/SQLite schemas), the
   * tightest of its stores; Elasticsearch takes more.
   */
  keyword: 255,
} as const

const HASH_CHARS = 26 // 130 bits of SHA-256 in base32: collisions are not a practical concern
const SUFFIX = HASH_CHARS + 1 // "~" + hash
/** What a hashed id ends with; a raw id of this shape is hashed too, so the two never meet. */
const HASHED = new RegExp(`~[a-z2-7]{${HASH_CHARS}}$`)

/**
 * An id within `maxBytes`, by construction: `raw` itself when it fits (and is well-formed
 * text), else a readable prefix of it + `~` + a base32 SHA-256 of all of it. Deterministic — a
 * retried activity, a replayed workflow and another process compute the same id — and distinct
 * for distinct inputs (long inputs sharing a prefix differ in the hash; the hash is over the
 * UTF-16 code units, so even texts differing only in lone surrogates stay apart). Every id
 * Nudge composes from user-supplied parts goes through here.
 */
export function boundedId(raw: string, maxBytes: number): string {
  if (maxBytes < SUFFIX + 8) throw new RangeError(`an id bound must be at least ${SUFFIX + 8} bytes`)
  if (utf8Length(raw) <= maxBytes && !LONE_SURROGATE.test(raw) && !HASHED.test(raw)) return raw
  return `${cutUtf8(raw, maxBytes - SUFFIX)}~${base32(createHash('sha256').update(Buffer.from(raw, 'utf16le')).digest()).slice(0, HASH_CHARS)}`
}

/** A message id Nudge writes as an event. */
export const boundedMessageId = (raw: string): string => boundedId(raw, ID_LIMITS.messageId)

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/**
 * The one hash behind every assignment and rollout: MurmurHash3 (x86, 32-bit, seed 0) of the
 * UTF-8 bytes — the function ClickHouse calls `murmurHash3_32` — so a bucket computed here and one
 * computed in SQL over the exposure tables are the same number (a parity test holds them to it).
 */
const encoder = new TextEncoder()
let scratch = new Uint8Array(256)
const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function mixK(k: number): number {
  k = Math.imul(k, C1)
  k = (k << 15) | (k >>> 17)
  return Math.imul(k, C2)
}

function mixH(h: number, k: number): number {
  h ^= mixK(k)
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

function finish(h: number, len: number): number {
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

/** murmur3 of `a + b` without building it. */
export function murmur3Concat(a: string, b: string): number {
  return hasherOf(a)(b)
}

/**
 * murmur3 of `prefix + text` for many texts: the prefix's whole 4-byte blocks are mixed once,
 * and ASCII texts are read straight from the string (no encoding, no concatenation).
 */
export function hasherOf(prefix: string): (text: string) => number {
  if (!isAscii(prefix)) return (text) => murmur3Bytes(`${prefix}${text}`)
  const blocks = prefix.length & ~3
  let h0 = 0
  for (let i = 0; i < blocks; i += 4)
    h0 = mixH(
      h0,
      prefix.charCodeAt(i) | (prefix.charCodeAt(i + 1) << 8) | (prefix.charCodeAt(i + 2) << 16) | (prefix.charCodeAt(i + 3) << 24),
    )
  const rest = prefix.length - blocks
  const r0 = rest > 0 ? prefix.charCodeAt(blocks) : 0
  const r1 = rest > 1 ? prefix.charCodeAt(blocks + 1) : 0
  const r2 = rest > 2 ? prefix.charCodeAt(blocks + 2) : 0
  return (text) => {
    const n = text.length
    let h = h0
    // Bytes after the prefix's blocks: the rest of the prefix, then the text (ASCII only here).
    let k = 0
    let filled = rest
    if (rest > 0) k = r0 | (r1 << 8) | (r2 << 16)
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c > 0x7f) return murmur3Bytes(`${prefix}${text}`)
      k |= c << (filled << 3)
      if (++filled === 4) {
        h = mixH(h, k)
        k = 0
        filled = 0
      }
    }
    if (filled > 0) h ^= mixK(k)
    return finish(h, prefix.length + n)
  }
}

export function murmur3(text: string): number {
  return murmur3Concat(text, '')
}

function murmur3Bytes(text: string): number {
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3)
  const bytes = scratch
  const len = encoder.encodeInto(text, bytes).written!
  let h = 0
  const tail = len & ~3
  for (let i = 0; i < tail; i += 4) h = mixH(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))
  let k = 0
  switch (len & 3) {
    case 3:
      k ^= bytes[tail + 2]! << 16
    // falls through
    case 2:
      k ^= bytes[tail + 1]! << 8
    // falls through
    case 1:
      k ^= bytes[tail]!
      h ^= mixK(k)
  }
  return finish(h, len)
}

const TWO_32 = 2 ** 32

/** A unit's position in [0, 1) for a hashing key (an experiment, a layer, a flag rollout). */
export function bucketOf(key: string, unit: string): number {
  return hasherOf(`${key}:`)(unit) / TWO_32
}

/** `bucketOf` with the key's prefix built once (hot paths: one experiment, many units). */
export function bucketerOf(key: string): (unit: string) => number {
  const hash = hasherOf(`${key}:`)
  return (unit) => hash(unit) / TWO_32
}

/** The same bucket as SQL, for queries over exposures and events (`key` and `unit` are SQL expressions). */
export function bucketSql(key: string, unit: string): string {
  return `murmurHash3_32(concat(${key}, ':', ${unit})) / 4294967296`
}

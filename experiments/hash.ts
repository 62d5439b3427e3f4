/**
 * The one hash behind every assignment and rollout: MurmurHash3 (x86, 32-bit, seed 0) of the
 * UTF-8 bytes — the function ClickHouse calls `murmurHash3_32` — so a bucket computed here and one
 * computed in SQL over the exposure tables are the same number (a parity test holds them to it).
 */
const encoder = new TextEncoder()
let scratch = new Uint8Array(256)

export function murmur3(text: string): number {
  // UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3)
  const bytes = scratch
  const len = encoder.encodeInto(text, bytes).written!
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = 0
  const tail = len & ~3
  for (let i = 0; i < tail; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
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
      k = Math.imul(k, c1)
      k = (k << 15) | (k >>> 17)
      k = Math.imul(k, c2)
      h ^= k
  }
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const TWO_32 = 2 ** 32

/** A unit's position in [0, 1) for a hashing key (an experiment, a layer, a flag rollout). */
export function bucketOf(key: string, unit: string): number {
  return murmur3(`${key}:${unit}`) / TWO_32
}

/** The same bucket as SQL, for queries over exposures and events (`key` and `unit` are SQL expressions). */
export function bucketSql(key: string, unit: string): string {
  return `murmurHash3_32(concat(${key}, ':', ${unit})) / 4294967296`
}

/**
 * The dedupe window: the last `capacity` message ids, kept as 64-bit fingerprints in typed
 * arrays (≈ 24 bytes an id instead of ~100 for a JS string in a Set), evicted oldest first.
 * The arrays start small and double as ids arrive, up to `capacity`: a window sized for a busy
 * day costs a quiet process nothing (2M ids preallocated were 48 MB at start).
 *
 * A hit is only a *suspect*: the writer confirms it against the store before dropping the
 * event, so a fingerprint collision can never lose data. A miss is authoritative within the
 * window — the same guarantee Segment gives for its own dedupe window.
 */
const INITIAL_IDS = 4096

export class RecentIds {
  private mask = 0
  private hi = new Uint32Array(0)
  private lo = new Uint32Array(0)
  private ringHi: Uint32Array
  private ringLo: Uint32Array
  private ringNext = 0
  private count = 0

  constructor(readonly capacity: number) {
    const ring = Math.min(capacity, INITIAL_IDS)
    this.ringHi = new Uint32Array(ring)
    this.ringLo = new Uint32Array(ring)
    this.rehash(ring)
  }

  get size(): number {
    return this.count
  }

  /** Bytes held by the window's arrays (it grows with the ids it holds). */
  get bytes(): number {
    return (this.hi.length + this.lo.length + this.ringHi.length + this.ringLo.length) * 4
  }

  has(id: string): boolean {
    const [h, l] = fingerprint(id)
    return this.find(h, l) >= 0
  }

  /** Remembers an id; the oldest one is forgotten when the window is full. */
  add(id: string): void {
    const [h, l] = fingerprint(id)
    if (this.find(h, l) >= 0) return
    if (this.count === this.ringHi.length && this.count < this.capacity) this.grow()
    if (this.count === this.capacity) this.remove(this.ringHi[this.ringNext]!, this.ringLo[this.ringNext]!)
    this.place(h, l)
    this.ringHi[this.ringNext] = h
    this.ringLo[this.ringNext] = l
    this.ringNext = (this.ringNext + 1) % this.ringHi.length
    this.count++
  }

  /** Doubles the ring (not yet wrapped: nothing was evicted below capacity) and the hash table. */
  private grow(): void {
    const ids = Math.min(this.capacity, this.ringHi.length * 2)
    const ringHi = new Uint32Array(ids)
    const ringLo = new Uint32Array(ids)
    ringHi.set(this.ringHi)
    ringLo.set(this.ringLo)
    this.ringNext = this.count
    this.ringHi = ringHi
    this.ringLo = ringLo
    this.rehash(ids)
  }

  /** A table for `ids` ids at load factor ≤ 0.5 (keeps linear probing short), refilled from the ring. */
  private rehash(ids: number): void {
    let size = 16
    while (size < ids * 2) size *= 2
    this.mask = size - 1
    this.hi = new Uint32Array(size)
    this.lo = new Uint32Array(size)
    for (let k = 0; k < this.count; k++) this.place(this.ringHi[k]!, this.ringLo[k]!)
  }

  private place(h: number, l: number): void {
    let i = l & this.mask
    while (this.hi[i] !== 0 || this.lo[i] !== 0) i = (i + 1) & this.mask
    this.hi[i] = h
    this.lo[i] = l
  }

  private find(h: number, l: number): number {
    let i = l & this.mask
    while (this.hi[i] !== 0 || this.lo[i] !== 0) {
      if (this.hi[i] === h && this.lo[i] === l) return i
      i = (i + 1) & this.mask
    }
    return -1
  }

  /** Backward-shift deletion: keeps every probe chain intact without tombstones. */
  private remove(h: number, l: number): void {
    let i = this.find(h, l)
    if (i < 0) return
    this.count--
    let j = i
    for (;;) {
      j = (j + 1) & this.mask
      if (this.hi[j] === 0 && this.lo[j] === 0) break
      const home = this.lo[j]! & this.mask
      // Move j back into the hole at i unless its home slot lies cyclically in (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j
      if (inRange) continue
      this.hi[i] = this.hi[j]!
      this.lo[i] = this.lo[j]!
      i = j
    }
    this.hi[i] = 0
    this.lo[i] = 0
  }
}

/** Two independent 32-bit FNV-1a lanes → a 64-bit fingerprint; (0,0) is reserved for "empty". */
export function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x01000193 ^ id.length
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
    b ^= b >>> 15
  }
  a ^= a >>> 13
  a = Math.imul(a, 0xc2b2ae35) >>> 0
  b = (b ^ (b >>> 16)) >>> 0
  return a === 0 && b === 0 ? [0, 1] : [a, b]
}

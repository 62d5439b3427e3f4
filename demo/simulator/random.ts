/**
 * Seeded randomness for the simulator: a small, fast PRNG (sfc32) and seed derivation from any
 * list of parts (a string hash), so every shopper, cart and received mail has its own stream.
 * Streams are independent of the order in which asynchronous work happens: shopper 17's draws
 * are the same whether it runs first or last, alone or beside 10 000 others.
 */

/** 32-bit hash of a string (cyrb53 folded to 32 bits): used to derive seeds, not for security. */
export function hash32(text: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (h1 ^ h2) >>> 0
}

/** A seed for one stream: the scenario's seed plus the names of what the stream is for. */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  return hash32(`${seed}|${parts.join('|')}`)
}

export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    // Four words from one seed (splitmix32), then a few rounds to mix a low-entropy seed.
    let s = seed >>> 0
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** A stream for `parts` of `seed` (see `deriveSeed`). */
  static for(seed: number, ...parts: (string | number)[]): Random {
    return new Random(deriveSeed(seed, ...parts))
  }

  /** sfc32: a uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) >>> 0
    return t
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]!
  }

  /** `k` distinct items (fewer if the list is shorter), in draw order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice()
    const out: T[] = []
    while (out.length < k && copy.length) out.push(copy.splice(Math.floor(this.next() * copy.length), 1)[0]!)
    return out
  }

  /** Hex characters (for ids that must look random but be reproducible). */
  hex(chars: number): string {
    let s = ''
    while (s.length < chars) s += this.u32().toString(16).padStart(8, '0')
    return s.slice(0, chars)
  }
}

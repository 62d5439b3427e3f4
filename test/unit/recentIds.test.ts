import { describe, expect, it } from 'vitest'
import { RecentIds, fingerprint } from '../../ingest/recentIds.js'

describe('RecentIds: the dedupe window', () => {
  it('remembers exactly the last `capacity` ids, oldest forgotten first', () => {
    const window = new RecentIds(1000)
    for (let i = 0; i < 5000; i++) window.add(`id-${i}`)
    expect(window.size).toBe(1000)
    for (let i = 4000; i < 5000; i++) expect(window.has(`id-${i}`)).toBe(true)
    let falsePositives = 0
    for (let i = 0; i < 4000; i++) if (window.has(`id-${i}`)) falsePositives++
    expect(falsePositives).toBe(0)
  })

  it('agrees with a reference model under random adds (eviction keeps probe chains intact)', () => {
    const capacity = 257
    const window = new RecentIds(capacity)
    const order: string[] = []
    let seed = 42
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let step = 0; step < 20_000; step++) {
      const id = `m-${Math.floor(rand() * 600)}`
      if (!order.includes(id)) {
        order.push(id)
        if (order.length > capacity) order.shift()
      }
      window.add(id)
      if (step % 97 === 0) {
        const probe = `m-${Math.floor(rand() * 600)}`
        expect(window.has(probe), `${probe} at step ${step}`).toBe(order.includes(probe))
      }
    }
    expect(window.size).toBe(order.length)
  })

  it('starts small and grows to its capacity, still the last `capacity` ids', () => {
    const window = new RecentIds(100_000)
    expect(window.bytes).toBeLessThan(100_000)
    for (let i = 0; i < 250_000; i++) window.add(`g-${i}`)
    expect(window.size).toBe(100_000)
    for (let i = 150_000; i < 250_000; i += 7) expect(window.has(`g-${i}`)).toBe(true)
    for (let i = 0; i < 150_000; i += 7) expect(window.has(`g-${i}`)).toBe(false)
  })

  it('fingerprints are 64 bits and never the empty marker', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200_000; i++) seen.add(fingerprint(`ajs-${i}-${i * 7}`).join(':'))
    expect(seen.size).toBe(200_000)
    expect(fingerprint('')).not.toEqual([0, 0])
  })
})

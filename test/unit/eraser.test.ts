import { describe, expect, it } from 'vitest'
import { Eraser } from '../../ingest/erasure/eraser.js'
import { ErasureRegistry, type ErasedSubject } from '../../ingest/erasure/erasureRegistry.js'
import type { Tombstones } from '../../ingest/erasure/tombstones.js'

/**
 * The erasure's order against writes already under way. An event of the person that passed the
 * tombstone check an instant before the tombstone was written is still on its way to the store;
 * the erasure must let it land before it deletes, or the row lands after the deletes and survives.
 */
describe('erasure order', () => {
  it('ingest settles again after the tombstone, before anything is deleted', async () => {
    const subject: ErasedSubject = { userId: 'u', keys: ['u'], messageIds: [], eventMessageIds: [], emails: [] }
    let inFlight: Promise<void> | undefined
    let landed = false
    const steps: string[] = []
    const eraser = new Eraser({
      users: {
        subjectOf: async () => subject,
        eraseStored: async () => {
          steps.push(landed ? 'delete after the write landed' : 'delete before the write landed')
          return 0
        },
        logErasure: async () => {},
      },
      tombstones: {
        // A write of the person checked just before this tombstone: it lands a little later.
        record: async () => {
          inFlight = new Promise<void>((r) => setTimeout(r, 30)).then(() => void (landed = true))
        },
      } as unknown as Tombstones,
      registry: new ErasureRegistry(),
      settleIngest: async () => {
        await inFlight
      },
    })
    await eraser.erase('u', 'test')
    expect(steps).toEqual(['delete after the write landed'])
  })
})

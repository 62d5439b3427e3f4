import { describe, expect, it, vi } from 'vitest'
import type { IngestEvent } from '../../ingest/types.js'
import { journeyDefinition } from '../../journeys/journeySchema.js'
import type { StoredJourney } from '../../journeys/journeyService.js'
import { type RunPort, TriggerRouter } from '../../journeys/triggerRouter.js'

/**
 * Stopping the router at shutdown: nothing more goes to Temporal, and what was dropped is not
 * counted as routed — so routing progress stays before it and the next start routes it again.
 */
const journey: StoredJourney = {
  definition: journeyDefinition.parse({
    id: 'j',
    name: 'j',
    trigger: { type: 'event', event: 'Go' },
    steps: [{ id: 's', type: 'send', template: 't' }],
  }),
  status: 'active',
  version: 1,
  updatedAt: 0,
}
const event = (userKey: string): IngestEvent =>
  ({
    messageId: `m-${userKey}`,
    type: 'track',
    event: 'Go',
    userKey,
    properties: {},
    context: {},
    timestamp: Date.now(),
    receivedAt: Date.now(),
  }) as unknown as IngestEvent

function setup(startImpl: (userKey: string) => Promise<unknown>, opts: Partial<ConstructorParameters<typeof TriggerRouter>[0]> = {}) {
  const started: string[] = []
  const runs: RunPort = {
    start: async (_j, _v, userKey) => {
      const r = await startImpl(userKey)
      started.push(userKey)
      return r
    },
    signalEvent: async () => true,
    signalExit: async () => true,
    openRuns: async () => [],
  }
  const router = new TriggerRouter({
    runs,
    journeys: () => [journey],
    runId: (j, u) => `${j}:${u}`,
    isGranted: () => true,
    isTestUser: () => false,
    concurrency: 1,
    ...opts,
  })
  return { router, started }
}

describe('TriggerRouter.stop', () => {
  it('drops queued starts, lets the one in flight finish, and keeps routedSeq before the dropped batch', async () => {
    const gates: (() => void)[] = []
    const { router, started } = setup(() => new Promise<void>((r) => gates.push(r)))
    router.handleStored([event('a')], [], 1)
    router.handleStored([event('b'), event('c')], [], 2)
    await new Promise((r) => setImmediate(r))
    expect(gates).toHaveLength(1) // concurrency 1: a is in flight, b and c queued
    expect(router.stop()).toBe(2)
    const idle = router.idle()
    gates[0]!()
    await idle
    expect(started).toEqual(['a'])
    expect(router.routedSeq).toBe(1) // batch 2 is routed again after a restart
    router.handleStored([event('d')], [], 3)
    await new Promise((r) => setImmediate(r))
    expect(gates).toHaveLength(1) // stopped: nothing more reaches Temporal
    expect(router.routedSeq).toBe(1)
  })

  it('a call failing when the router stops is not retried: its back-off ends at once and its batch stays unrouted', async () => {
    vi.useFakeTimers() // no clock moves: only stop() can end the back-off
    try {
      let calls = 0
      const { router } = setup(async () => {
        calls++
        throw new Error('Temporal away')
      })
      router.handleStored([event('a')], [], 1)
      await vi.advanceTimersByTimeAsync(0) // the first attempt failed; its 200 ms back-off began
      router.stop()
      await router.idle()
      expect(calls).toBe(1)
      expect(router.routedSeq).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('TriggerRouter and erasure', () => {
  it('a start queued before its user was erased is not made when its turn comes (asked at the call, by trigger time)', async () => {
    const gates: (() => void)[] = []
    const erased = new Map<string, number>()
    const { router, started } = setup(() => new Promise<void>((r) => gates.push(r)), {
      isErased: (u, at) => at <= (erased.get(u) ?? -Infinity),
    })
    router.handleStored([event('a'), event('gone'), event('b')], [], 1)
    await new Promise((r) => setImmediate(r))
    erased.set('gone', Date.now()) // the erasure's tombstone, written while a's start is in flight
    for (let i = 0; i < 3; i++) {
      gates.shift()?.()
      await new Promise((r) => setImmediate(r))
    }
    await router.idle()
    expect(started).toEqual(['a', 'b'])
    expect(router.erasedTriggers).toBe(1)
    expect(router.routedSeq).toBe(1) // a dropped start is done with, not retried
  })
})

import { Client, Connection } from '@temporalio/client'
import { NativeConnection, type Worker } from '@temporalio/worker'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { BatchOutcome, Deliverer } from '../../destinations/deliverer.js'
import { createDestinationActivities } from '../../workflows/activities/destinationActivities.js'
import type { DestinationBatchInput, DestinationBatchResult } from '../../workflows/destinations/destinationBatch.workflow.js'
import { createWorker } from '../../workflows/worker/worker.js'

/**
 * The destination batch workflow on the test run's Temporal dev server, through the production
 * worker registration and the production activities, with the deliverer behind them scripted: how
 * many attempts a failing batch gets, that Retry-After replaces the backoff, that a run is bounded.
 * (The deliverer itself meets real HTTP in destinationOutbox.test.ts and destinations.test.ts.)
 */
type Script = { batches: string[][]; send: (attempt: number) => BatchOutcome; maxAttempts: number }
const scripts = new Map<string, Script & { attempts: number[]; deadLettered: string[][] }>()

const deliverer = {
  async nextBatch(id: string) {
    const s = scripts.get(id)!
    return { recordIds: s.batches.shift() ?? [], maxAttempts: s.maxAttempts }
  },
  async send(id: string) {
    const s = scripts.get(id)!
    s.attempts.push(Date.now())
    return s.send(s.attempts.length)
  },
  async deadLetter(id: string, recordIds: string[]) {
    scripts.get(id)!.deadLettered.push(recordIds)
    return recordIds.length
  },
} as unknown as Deliverer

describe('destination batch workflow', () => {
  const taskQueue = `destinations-${process.pid}`
  let connection: NativeConnection
  let client: Client
  let worker: Worker
  let running: Promise<void>
  beforeAll(async () => {
    const address = inject('temporalAddress')
    connection = await NativeConnection.connect({ address })
    client = new Client({ connection: await Connection.connect({ address }) })
    worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue,
      activities: { ...createDestinationActivities(deliverer) } as never,
    })
    running = worker.run()
  })
  afterAll(async () => {
    worker?.shutdown()
    await running
    await connection?.close()
  })

  let n = 0
  async function run(script: Script, input: Partial<DestinationBatchInput> = {}) {
    const id = `d${process.pid}-${n++}`
    const s = { ...script, attempts: [], deadLettered: [] }
    scripts.set(id, s)
    const result: DestinationBatchResult = await client.workflow.execute('destinationBatchWorkflow', {
      workflowId: `test-destination-${id}`,
      taskQueue,
      args: [{ destinationId: id, retryInitialMs: 20, maxRetryIntervalMs: 100, ...input }],
    })
    return { result, ...s }
  }
  const retry = (retryAfterMs?: number): BatchOutcome => ({
    delivered: 0,
    dead: 0,
    withheld: 0,
    retry: { status: 'retry', code: 'unavailable', reason: 'HTTP 503', ...(retryAfterMs ? { retryAfterMs } : {}) },
  })

  it('a batch that keeps failing is tried maxAttempts times, then dead-lettered; the run goes on to the next batch', async () => {
    const r = await run({
      batches: [['a', 'b'], ['c']],
      maxAttempts: 3,
      send: (i) => (i <= 3 ? retry() : { delivered: 1, dead: 0, withheld: 0 }),
    })
    expect(r.attempts).toHaveLength(4) // 3 for the first batch, 1 for the second
    expect(r.deadLettered).toEqual([['a', 'b']])
    expect(r.result).toEqual({ batches: 2, delivered: 1, deadLettered: 2 })
  })

  it('Retry-After replaces the backoff interval for that attempt', async () => {
    const r = await run({ batches: [['a']], maxAttempts: 5, send: (i) => (i === 1 ? retry(1500) : { delivered: 1, dead: 0, withheld: 0 }) })
    expect(r.attempts).toHaveLength(2)
    expect(r.attempts[1]! - r.attempts[0]!).toBeGreaterThanOrEqual(1400)
    expect(r.result).toMatchObject({ delivered: 1, deadLettered: 0 })
  })

  it('exponential backoff without Retry-After: the intervals grow', async () => {
    const r = await run(
      { batches: [['a']], maxAttempts: 4, send: (i) => (i < 4 ? retry() : { delivered: 1, dead: 0, withheld: 0 }) },
      { retryInitialMs: 200, maxRetryIntervalMs: 10_000 },
    )
    const gaps = r.attempts.slice(1).map((t, i) => t - r.attempts[i]!)
    expect(gaps[0]).toBeGreaterThanOrEqual(180)
    expect(gaps[1]).toBeGreaterThanOrEqual(360)
    expect(gaps[2]).toBeGreaterThanOrEqual(720)
  })

  it('a run is bounded: it ends after maxBatches even while records keep coming', async () => {
    const r = await run(
      { batches: Array.from({ length: 50 }, (_, i) => [`r${i}`]), maxAttempts: 1, send: () => ({ delivered: 1, dead: 0, withheld: 0 }) },
      { maxBatches: 5 },
    )
    expect(r.result).toEqual({ batches: 5, delivered: 5, deadLettered: 0 })
  })
})

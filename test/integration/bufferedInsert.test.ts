import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { addRefusedRowsMetric } from '../../runtime/metrics.js'
import { BufferedInsert } from '../../clickhouse/bufferedInsert.js'
import { GroupInsert } from '../../clickhouse/groupInsert.js'
import { ValidationError } from '../../core/errors.js'
import { isPermanent } from '../../workflows/activities/permanentFailures.js'
import { uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

/**
 * Buffered rows (experiment exposures) against the real store: a row the store refuses for its
 * data must not be retried forever, nor hold back the rows batched with it.
 */
describe('buffered inserts: a row the store refuses', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error' } })

  it('is dropped and counted alone; the rest of its batch is stored; the next flush does not retry it', async () => {
    const experiment = uid('poison')
    const logged: string[] = []
    const buffer = new BufferedInsert<Record<string, unknown>>(fx.nudge.store.client, 'experiment_exposures', {
      lingerMs: 60_000,
      maxRows: 1_000,
      maxPending: 10_000,
      log: (m) => logged.push(m),
    })
    const row = (unit: string) => ({ experiment_key: experiment, unit, variant: 'a', first_at: Date.now(), context: '{}', rank: 1 })
    for (let i = 0; i < 5; i++) buffer.add(row(`u${i}`))
    // A lone surrogate: the engine refuses it on every attempt (CANNOT_PARSE_ESCAPE_SEQUENCE).
    buffer.add(row('bad\ud800'))
    for (let i = 5; i < 9; i++) buffer.add(row(`u${i}`))
    await buffer.flush()
    const stored = () => countRows(fx.nudge.store.client, 'experiment_exposures', 'experiment_key = {e:String}', { e: experiment })
    expect(await stored()).toBe(9)
    expect(buffer.refused).toBe(1)
    // Nothing left to retry: a later row is stored on its own.
    buffer.add(row('later'))
    await buffer.flush()
    expect(await stored()).toBe(10)
    expect(buffer.refused).toBe(1)
    expect(logged.filter((m) => m.includes('will retry'))).toEqual([])
    // Prometheus sees the drop (counted once however often it is scraped).
    const registry = new Registry()
    addRefusedRowsMetric(registry, { experiment_exposures: () => buffer.refused })
    const scrape = async () =>
      (await registry.getSingleMetric('nudge_store_rows_refused_total')!.get()).values.find(
        (v) => v.labels.table === 'experiment_exposures',
      )?.value
    expect(await scrape()).toBe(1)
    expect(await scrape()).toBe(1)
  })
})

describe('group inserts: a row the store refuses', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error' } })

  it('fails only the caller that added it, with a permanent ValidationError; the callers grouped with it are stored', async () => {
    const workflowId = uid('group')
    const group = new GroupInsert<Record<string, unknown>>(fx.nudge.store.client, 'journey_steps')
    const step = (stepId: string) => ({
      workflow_id: workflowId,
      journey_id: 'j',
      journey_version: 1,
      user_key: 'u',
      step_id: stepId,
      step_type: 'send',
      outcome: 'sent',
      at: Date.now(),
      test: 0,
    })
    // Added in one tick: one group commit. The lone surrogate is refused by the engine on every attempt.
    const results = await Promise.allSettled([group.add(step('a')), group.add(step('bad\ud800')), group.add(step('b'), step('c'))])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const err = (results[1] as PromiseRejectedResult).reason
    expect(err).toBeInstanceOf(ValidationError)
    expect(isPermanent(err)).toBe(true)
    expect(await countRows(fx.nudge.store.client, 'journey_steps', 'workflow_id = {w:String}', { w: workflowId })).toBe(3)
  })
})

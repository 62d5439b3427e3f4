import { describe, expect, it } from 'vitest'
import { journey, path, until, useInterpreter } from './interpreter.js'

/**
 * A run whose history grows long (many events while it waits) starts a fresh history where it
 * stands: the wait keeps its end, the run keeps what it heard, its arm and its flags.
 */
describe('continue-as-new', () => {
  const t = useInterpreter({ suggestContinueAsNewAfter: 40 })

  it('mid-wait: the fresh run waits out the same end and still hears the events of before', async () => {
    const run = await t.start(
      journey([
        { id: 'split', type: 'experiment', experiment: 'exp', branches: { a: 'listen' } },
        { id: 'listen', type: 'wait', for: { event: 'Bought', match: 'user' }, timeout: '4s', onEvent: 'done', onTimeout: 'done' },
        { id: 'done', type: 'exit' },
      ]),
      { fakes: { assignVariant: async () => ({ variant: 'a', holdout: false, payload: {}, reason: 'assigned', inExperiment: true }) } },
    )
    const first = (await run.handle.describe()).runId
    const waiting = await until(async () => {
      const s = await run.state()
      return s.status === 'waiting' && s
    })
    for (let i = 0; i < 40; i++) await run.signal({ event: 'Page Viewed', messageId: `view-${i}` })
    await until(async () => (await run.handle.describe()).runId !== first)
    const resumed = await until(async () => {
      const s = await run.state().catch(() => undefined)
      return s?.status === 'waiting' && s.until !== undefined && s // the carried state says waiting before the wait re-enters
    })
    // Where it was: the same step, the same end, what it heard, its arm.
    expect(resumed).toMatchObject({ step: 'listen', until: waiting.until, experimentKey: 'exp', variant: 'a' })
    expect(resumed.eventsSeen).toBeGreaterThanOrEqual(41)
    await run.signal({ event: 'Page Viewed', messageId: 'view-3' }) // heard before the new history: still a duplicate
    await run.signal({ event: 'Bought' })
    const state = await run.result()
    expect(state).toMatchObject({ outcome: 'exited', variant: 'a' })
    expect(state.eventsSeen).toBe(resumed.eventsSeen + 1)
    expect(path(run)).toEqual(['split:assigned', 'listen:event', 'done:exit'])
    // One start, one end, across both histories.
    expect(run.runs.map((r) => `${r.phase}:${r.outcome ?? ''}`)).toEqual(['started:', 'ended:exited'])
  })
})

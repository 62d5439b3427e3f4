import { WorkflowFailedError } from '@temporalio/client'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../core/errors.js'
import { callNames, journey, path, useInterpreter } from './interpreter.js'

/** The update-trait step: one activity writes the trait (as an identify would). */
describe('update_trait step', () => {
  const t = useInterpreter()

  it('writes the trait with a message id made of the run, the step and a replay-stable uuid', async () => {
    const run = await t.start(
      journey([
        { id: 'mark', type: 'update_trait', key: 'reminded', value: 'yes' },
        { id: 'unmark', type: 'update_trait', key: 'reminded', value: null },
      ]),
    )
    expect(await run.result()).toMatchObject({ outcome: 'completed' })
    const writes = run.calls.filter((c) => c.name === 'updateTrait').map((c) => c.input as Record<string, unknown>)
    expect(writes.map((w) => [w.userKey, w.key, w.value])).toEqual([
      ['u1', 'reminded', 'yes'],
      ['u1', 'reminded', null],
    ])
    expect(writes[0]!.messageId).toMatch(new RegExp(`^${run.workflowId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:mark:[0-9a-f-]{36}$`))
    expect(writes[0]!.messageId).not.toBe(writes[1]!.messageId)
    expect(path(run)).toEqual(['mark:updated', 'unmark:updated'])
  })

  it('a store hiccup is retried (bounded, backing off) and the run goes on', async () => {
    let attempts = 0
    const run = await t.start(journey([{ id: 'mark', type: 'update_trait', key: 'k', value: 1 }]), {
      fakes: {
        updateTrait: async () => {
          if (++attempts < 3) throw new Error('store briefly unavailable')
        },
      },
    })
    expect(await run.result()).toMatchObject({ outcome: 'completed' })
    expect(callNames(run)).toEqual(['updateTrait', 'updateTrait', 'updateTrait', 'record'])
    expect(path(run)).toEqual(['mark:updated'])
  })

  it('a value the store refuses ends the run failed:update_trait:ValidationError, without a retry', async () => {
    const run = await t.start(journey([{ id: 'mark', type: 'update_trait', key: 'k', value: 1 }]), {
      fakes: {
        updateTrait: async () => {
          throw new ValidationError('Invalid identify event', [{ path: 'traits', rule: 'refused', message: 'refused' }])
        },
      },
    })
    const err = await run.result().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkflowFailedError)
    expect(callNames(run)).toEqual(['updateTrait', 'record'])
    expect(run.steps.map((s) => [s.stepId, s.stepType, s.outcome, s.reason])).toEqual([
      ['mark', 'update_trait', 'failed', 'Invalid identify event'],
    ])
    expect(run.runs.at(-1)).toMatchObject({ phase: 'ended', outcome: 'failed:update_trait:ValidationError' })
    const state = await run.state()
    expect(state).toMatchObject({ status: 'ended', outcome: 'failed:update_trait:ValidationError', step: 'mark' })
  })
})

import { describe, expect, it } from 'vitest'
import type { JourneyStep } from '../../journeys/journeySchema.js'
import { callNames, journey, path, useInterpreter } from './interpreter.js'

/** The condition split: an activity evaluates the tests against the user's profile and the trigger. */
describe('condition step', () => {
  const t = useInterpreter()

  const split: JourneyStep[] = [
    {
      id: 'big-spender',
      type: 'condition',
      when: [{ trigger: { path: 'properties.total', op: 'gte', value: 100 } }, { trait: { key: 'vip', op: 'eq', value: true } }],
      then: 'vip-path',
      else: 'regular-path',
    },
    { id: 'regular-path', type: 'update_trait', key: 'tier', value: 'regular', next: 'done' },
    { id: 'vip-path', type: 'update_trait', key: 'tier', value: 'vip' },
    { id: 'done', type: 'exit' },
  ]
  const tiers = (run: { calls: { name: string; input: unknown }[] }) =>
    run.calls.filter((c) => c.name === 'updateTrait').map((c) => (c.input as { value: unknown }).value)

  it('the tests hold → then; the activity gets the tests, the user and the trigger', async () => {
    const run = await t.start(journey(split), {
      trigger: { properties: { total: 150 } },
      fakes: { evaluateCondition: async () => true },
    })
    expect(await run.result()).toMatchObject({ outcome: 'exited' })
    expect(callNames(run)).toEqual(['evaluateCondition', 'updateTrait', 'record'])
    expect(run.calls[0]!.input).toMatchObject({
      tests: (split[0] as { when: unknown }).when,
      userKey: 'u1',
      trigger: { event: 'Trigger', properties: { total: 150 } },
    })
    expect(tiers(run)).toEqual(['vip'])
    expect(path(run)).toEqual(['big-spender:then', 'vip-path:updated', 'done:exit'])
  })

  it('they do not → else', async () => {
    const run = await t.start(journey(split), { fakes: { evaluateCondition: async () => false } })
    await run.result()
    expect(tiers(run)).toEqual(['regular'])
    expect(path(run)).toEqual(['big-spender:else', 'regular-path:updated', 'done:exit'])
  })

  it('a branch left out goes on to the step after the split', async () => {
    const steps: JourneyStep[] = [
      { id: 'check', type: 'condition', when: [{ segment: { id: 'active', member: true } }], else: 'done' },
      { id: 'mark', type: 'update_trait', key: 'active', value: true },
      { id: 'done', type: 'exit' },
    ]
    const yes = await t.start(journey(steps), { fakes: { evaluateCondition: async () => true } })
    const no = await t.start(journey(steps), { fakes: { evaluateCondition: async () => false } })
    await Promise.all([yes.result(), no.result()])
    expect(path(yes)).toEqual(['check:then', 'mark:updated', 'done:exit'])
    expect(path(no)).toEqual(['check:else', 'done:exit'])
  })

  it('the last step having run, the run completes', async () => {
    const steps: JourneyStep[] = [
      { id: 'big-spender', type: 'condition', when: [{ trait: { key: 'vip', op: 'eq', value: true } }] },
      { id: 'vip-path', type: 'update_trait', key: 'tier', value: 'vip' },
    ]
    const run = await t.start(journey(steps), { fakes: { evaluateCondition: async () => true } })
    expect(await run.result()).toMatchObject({ status: 'ended', outcome: 'completed' })
    expect(path(run)).toEqual(['big-spender:then', 'vip-path:updated'])
    expect(run.runs.at(-1)).toMatchObject({ phase: 'ended', outcome: 'completed' })
    expect((await run.searchAttributes()).EndReason).toBe('completed')
  })
})

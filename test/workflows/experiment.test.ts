import { describe, expect, it } from 'vitest'
import type { JourneyStep } from '../../journeys/journeySchema.js'
import { callNames, journey, path, useInterpreter } from './interpreter.js'

/** The experiment split: the assignment activity picks the arm; the arm picks the branch and may change the message. */
describe('experiment step', () => {
  const t = useInterpreter()

  const steps: JourneyStep[] = [
    { id: 'split', type: 'experiment', experiment: 'subject-test', branches: { bold: 'bold-mail' } },
    { id: 'plain-mail', type: 'send', template: 'reminder', subject: 'Your cart', next: 'done' },
    { id: 'bold-mail', type: 'send', template: 'reminder', subject: 'YOUR CART!', next: 'done' },
    { id: 'done', type: 'exit' },
  ]
  const assigned = (variant: string | null, extra: { holdout?: boolean; payload?: Record<string, unknown> } = {}) => ({
    assignVariant: async () => ({
      variant,
      holdout: extra.holdout ?? false,
      payload: extra.payload ?? {},
      reason: variant ? 'assigned' : 'not_eligible',
      inExperiment: variant !== null,
    }),
  })

  it('an arm with a branch goes there; the arm is on the run, its steps, its sends and its search attributes', async () => {
    const run = await t.start(journey(steps), { fakes: assigned('bold') })
    const state = await run.result()
    expect(run.calls[0]).toMatchObject({
      name: 'assignVariant',
      input: { experiment: 'subject-test', userKey: 'u1', context: { journey: run.input.journey.id, step: 'split' } },
    })
    expect(state).toMatchObject({ experimentKey: 'subject-test', variant: 'bold', sends: 1, outcome: 'exited' })
    expect(path(run)).toEqual(['split:assigned', 'done:exit'])
    expect(run.sends.map((s) => [s.stepId, s.subject, s.experimentKey, s.variant])).toEqual([
      ['bold-mail', 'YOUR CART!', 'subject-test', 'bold'],
    ])
    expect(run.steps[0]).toMatchObject({ reason: 'assigned', experimentKey: 'subject-test', variant: 'bold' })
    expect(await run.searchAttributes()).toMatchObject({ ExperimentKey: 'subject-test', Variant: 'bold' })
  })

  it('an arm without a branch goes on to the next step; its payload overrides the template and subject of later sends', async () => {
    const run = await t.start(journey(steps), { fakes: assigned('control', { payload: { subject: 'From the arm', template: 'arm-tpl' } }) })
    await run.result()
    expect(run.sends.map((s) => [s.stepId, s.template, s.subject, s.variant])).toEqual([
      ['plain-mail', 'arm-tpl', 'From the arm', 'control'],
    ])
  })

  it('not in the experiment → the next step, no arm on the run', async () => {
    const run = await t.start(journey(steps), { fakes: assigned(null) })
    const state = await run.result()
    expect(path(run)).toEqual(['split:not_in_experiment', 'done:exit'])
    expect(run.sends.map((s) => s.stepId)).toEqual(['plain-mail'])
    expect(state.experimentKey).toBeUndefined()
    expect(run.sends[0]!.variant).toBeUndefined()
    expect((await run.searchAttributes()).ExperimentKey).toBeUndefined()
  })

  it('a holdout arm ends the run there: recorded, nothing sent', async () => {
    const run = await t.start(journey(steps), { fakes: assigned('holdout', { holdout: true }) })
    const state = await run.result()
    expect(state).toMatchObject({ outcome: 'holdout', variant: 'holdout', sends: 0, status: 'ended' })
    expect(callNames(run)).toEqual(['assignVariant', 'record'])
    expect(path(run)).toEqual(['split:holdout'])
    expect(run.runs.map((r) => r.phase + ':' + (r.outcome ?? ''))).toEqual(['started:', 'ended:holdout'])
    expect(await run.searchAttributes()).toMatchObject({ EndReason: 'holdout', Variant: 'holdout' })
  })
})

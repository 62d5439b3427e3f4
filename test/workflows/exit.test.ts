import { describe, expect, it } from 'vitest'
import type { JourneyStep } from '../../journeys/journeySchema.js'
import { callNames, journey, path, until, useInterpreter } from './interpreter.js'

/** The exit step, and the journey's exit criteria: how a run ends, and what it leaves behind. */
describe('exit step and exit criteria', () => {
  const t = useInterpreter()

  it('an exit step ends the run `exited` there; the steps after it never run', async () => {
    const run = await t.start(
      journey([
        { id: 'mark', type: 'update_trait', key: 'k', value: 1 },
        { id: 'leave', type: 'exit' },
        { id: 'unreachable', type: 'update_trait', key: 'k', value: 2 },
      ]),
    )
    const state = await run.result()
    expect(state).toMatchObject({ status: 'ended', outcome: 'exited', step: 'leave' })
    expect(callNames(run)).toEqual(['updateTrait', 'record'])
    expect(path(run)).toEqual(['mark:updated', 'leave:exit'])
    expect(run.steps[1]).toMatchObject({ stepType: 'exit', workflowId: run.workflowId, journeyVersion: 1, test: false })
    // The run's records: started (at the server's start time), then ended with the outcome.
    expect(run.runs.map((r) => [r.phase, r.outcome, r.trigger.messageId])).toEqual([
      ['started', undefined, run.input.trigger.messageId],
      ['ended', 'exited', run.input.trigger.messageId],
    ])
    expect(run.runs[0]!.at!).toBeLessThanOrEqual(run.runs[1]!.at!)
    expect(await run.searchAttributes()).toMatchObject({ EndReason: 'exited', JourneyId: run.input.journey.id, UserId: 'u1' })
  })

  const waiting: JourneyStep[] = [
    { id: 'hold', type: 'delay', duration: '1h' },
    { id: 'never', type: 'update_trait', key: 'k', value: 1 },
  ]

  it('an event matching an exit criterion ends the run at once, `exit:<event>`; others do not', async () => {
    const run = await t.start(
      journey(waiting, {
        exit: [{ type: 'event', event: 'Order Completed', match: 'user', where: [{ path: 'total', op: 'gt', value: 0 }] }],
      }),
    )
    await run.signal({ event: 'Order Completed', properties: { total: 0 } }) // fails the where
    await run.signal({ event: 'Page Viewed' })
    await until(async () => (await run.state()).eventsSeen === 3)
    expect((await run.state()).status).toBe('waiting')
    await run.signal({ event: 'Order Completed', properties: { total: 20 } })
    const state = await run.result()
    expect(state).toMatchObject({ outcome: 'exit:Order Completed', step: 'hold' })
    // A long wait writes what the run buffered first (its start), then the end is written.
    expect(callNames(run)).toEqual(['record', 'record'])
    expect(run.runs.map((r) => `${r.phase}:${r.outcome ?? ''}`)).toEqual(['started:', 'ended:exit:Order Completed'])
    expect(path(run)).toEqual([])
    expect((await run.searchAttributes()).EndReason).toBe('exit:Order Completed')
  })

  it('an exit signal (an opt-out, leaving the segment) ends it with the reason given; the first reason wins', async () => {
    const run = await t.start(journey(waiting))
    await until(async () => (await run.state()).status === 'waiting')
    await run.exitWith('segment_exit:buyers')
    await run.exitWith('opt_out:marketing')
    expect(await run.result()).toMatchObject({ outcome: 'segment_exit:buyers' })
  })

  it('with a cooldown, the ended run stays open (ignoring triggers) until the cooldown since the trigger has passed', async () => {
    const run = await t.start(
      journey([{ id: 'leave', type: 'exit' }], { entry: { consent: 'marketing', reentry: 'cooldown', cooldown: '1500ms' } }),
    )
    const cooling = await until(async () => {
      const s = await run.state()
      return s.status === 'cooldown' && s
    })
    expect(cooling.outcome).toBe('exited')
    await run.signal({ event: 'Trigger' }) // a new trigger: heard, not a new run
    const state = await run.result()
    expect(state.status).toBe('ended')
    expect(Date.now() - run.input.trigger.receivedAt).toBeGreaterThanOrEqual(1500)
    expect(run.runs.filter((r) => r.phase === 'ended')).toHaveLength(1) // recorded when it ended, not when the cooldown did
  })
})

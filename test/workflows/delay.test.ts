import { describe, expect, it } from 'vitest'
import { callNames, journey, path, until, useInterpreter } from './interpreter.js'

/** The delay step: a fixed wait (a workflow timer), a flag's value or a local-time window (asked of an activity). */
describe('delay step', () => {
  const t = useInterpreter()

  it('a fixed delay is a timer: the next step runs after it, and no activity is asked how long', async () => {
    const run = await t.start(
      journey([
        { id: 'wait-a-bit', type: 'delay', duration: '400ms' },
        { id: 'bye', type: 'exit' },
      ]),
    )
    const state = await run.result()
    expect(state).toMatchObject({ status: 'ended', outcome: 'exited', step: 'bye' })
    expect(callNames(run)).toEqual(['record']) // the run's records, once, at its end
    expect(path(run)).toEqual(['wait-a-bit:waited', 'bye:exit'])
    const [waited, exited] = run.steps
    // Recorded when the wait was due, and the exit came no earlier.
    expect(waited!.scheduledAt! - run.runs[0]!.at!).toBeGreaterThanOrEqual(400)
    expect(exited!.at!).toBeGreaterThanOrEqual(waited!.scheduledAt!)
    expect(run.calls[0]!.at - run.startedAt).toBeGreaterThanOrEqual(400)
    expect(run.runs.map((r) => `${r.phase}:${r.outcome ?? ''}`)).toEqual(['started:', 'ended:exited'])
  })

  it('while it waits the run shows its step and when the wait ends; an exit signal ends the wait at once', async () => {
    const run = await t.start(
      journey([
        { id: 'long', type: 'delay', duration: '1h' },
        { id: 'never', type: 'exit' },
      ]),
    )
    const waiting = await until(async () => {
      const s = await run.state()
      return s.status === 'waiting' && s
    })
    expect(waiting.step).toBe('long')
    expect(waiting.until! - Date.now()).toBeGreaterThan(3_500_000)
    expect((await run.searchAttributes()).JourneyStep).toBe('long')
    await run.exitWith('opt_out:marketing')
    const state = await run.result()
    expect(state).toMatchObject({ status: 'ended', outcome: 'opt_out:marketing', step: 'long' })
    expect(state.until).toBeUndefined()
    expect(path(run)).toEqual([]) // the wait never completed; the exit step never ran
    expect(run.runs.at(-1)).toMatchObject({ phase: 'ended', outcome: 'opt_out:marketing' })
    expect((await run.searchAttributes()).EndReason).toBe('opt_out:marketing')
  })

  it('a flagged delay waits what the flag says, and puts the flag and its experiment arm on the run', async () => {
    const run = await t.start(
      journey([
        { id: 'timed', type: 'delay', flag: { key: 'reminder-delay', default: '1h' } },
        { id: 'bye', type: 'exit' },
      ]),
      {
        fakes: {
          resolveDelay: async () => ({
            ms: 300,
            flag: { flag: 'reminder-delay', value: 300, reason: 'SPLIT', variant: 'fast', experimentKey: 'timing' },
          }),
        },
      },
    )
    const state = await run.result()
    expect(callNames(run)).toEqual(['resolveDelay', 'record'])
    expect(run.calls[0]!.input).toMatchObject({ step: { id: 'timed' }, userKey: 'u1' })
    expect(state).toMatchObject({ outcome: 'exited', experimentKey: 'timing', variant: 'fast' })
    expect(state.flags['reminder-delay']).toMatchObject({ value: 300, variant: 'fast' })
    expect(run.steps[0]).toMatchObject({ stepId: 'timed', outcome: 'waited', reason: 'reminder-delay=300ms (SPLIT)', variant: 'fast' })
    expect(run.steps[1]).toMatchObject({ experimentKey: 'timing', variant: 'fast' }) // later steps carry the arm
    expect(await run.searchAttributes()).toMatchObject({ ExperimentKey: 'timing', Variant: 'fast' })
    expect((await run.memo())?.flags).toMatchObject({ 'reminder-delay': { value: 300 } })
  })

  it('a local-time window is asked of an activity (the user’s timezone is the world’s), and the run waits what it answers', async () => {
    const run = await t.start(
      journey([
        { id: 'office-hours', type: 'delay', duration: '100ms', until: { from: '09:00', to: '17:00' } },
        { id: 'bye', type: 'exit' },
      ]),
      { fakes: { resolveDelay: async () => ({ ms: 500 }) } },
    )
    await run.result()
    expect(callNames(run)).toEqual(['resolveDelay', 'record'])
    expect(run.calls[1]!.at - run.calls[0]!.at).toBeGreaterThanOrEqual(500)
    expect(run.steps[0]).toMatchObject({ stepId: 'office-hours', outcome: 'waited' })
    expect(run.steps[0]!.reason).toBeUndefined()
  })
})

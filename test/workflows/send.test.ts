import { WorkflowFailedError } from '@temporalio/client'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../core/errors.js'
import type { DeliverResult } from '../../delivery/deliver.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import { callNames, journey, path, until, useInterpreter } from './interpreter.js'

/** The send step: one deliver activity (gate + compose + transport), which may defer, skip or end the run. */
describe('send step', () => {
  const t = useInterpreter()

  it('asks the send activity with the run’s context, carrying the records the run buffered; the last send records the end too', async () => {
    const j = journey(
      [
        { id: 'tag', type: 'update_trait', key: 'reminded', value: true },
        { id: 'reminder', type: 'send', template: 'cart-reminder', subject: 'Still thinking?' },
      ],
      { exit: [{ type: 'event', event: 'Order Completed', match: 'user' }], priority: 70 },
    )
    const run = await t.start(j, { fakes: { deliver: async (req: SendRequest) => ({ status: 'sent', ended: req.last === true }) } })
    const state = await run.result()
    expect(state).toMatchObject({ sends: 1, outcome: 'completed', status: 'ended' })
    // No record activity of its own: the send carried the start and the first step.
    expect(callNames(run)).toEqual(['updateTrait', 'deliver'])
    const req = run.sends[0]!
    expect(req).toMatchObject({
      workflowId: run.workflowId,
      journeyId: j.id,
      journeyVersion: 1,
      stepId: 'reminder',
      userKey: 'u1',
      template: 'cart-reminder',
      subject: 'Still thinking?',
      topic: 'marketing',
      priority: 70,
      exit: j.exit,
      last: true,
      test: false,
    })
    expect(req.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(req.condition).toBeUndefined() // an event trigger: nothing to re-check
    expect(req.records!.runs.map((r) => r.phase)).toEqual(['started'])
    expect(req.records!.steps.map((s) => s.stepId)).toEqual(['tag'])
    expect(path(run)).toEqual(['tag:updated'])
  })

  it('a segment-triggered run’s send re-checks the segment, on the step’s own topic; not the last step: no `last`', async () => {
    const j = journey(
      [
        { id: 'welcome', type: 'send', template: 'welcome', topic: 'product' },
        { id: 'done', type: 'exit' },
      ],
      { trigger: { type: 'segment_entry', segment: 'new-users' } },
    )
    const run = await t.start(j)
    expect(await run.result()).toMatchObject({ sends: 1, outcome: 'exited' })
    expect(run.sends[0]).toMatchObject({ condition: { segment: 'new-users', member: true }, topic: 'product' })
    expect(run.sends[0]!.last).toBeUndefined()
    expect(callNames(run)).toEqual(['deliver', 'record'])
    expect(run.runs.at(-1)).toMatchObject({ phase: 'ended', outcome: 'exited' })
  })

  it('deferred (quiet hours, a cap) → the run waits until then and asks again, with the same message id', async () => {
    let asked = 0
    const deliver = async (): Promise<DeliverResult> =>
      ++asked === 1 ? { status: 'deferred', reason: 'quiet_hours', until: Date.now() + 600 } : { status: 'sent' }
    const run = await t.start(journey([{ id: 'mail', type: 'send', template: 't' }]), { fakes: { deliver } })
    const waiting = await until(async () => {
      const s = await run.state()
      return s.status === 'waiting' && s
    })
    expect(waiting).toMatchObject({ step: 'mail', sends: 0 })
    expect(waiting.until).toBeDefined()
    expect(await run.result()).toMatchObject({ sends: 1, outcome: 'completed' })
    const [first, second] = run.calls.filter((c) => c.name === 'deliver')
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(550)
    expect(run.sends.map((s) => s.messageId)).toEqual([run.sends[0]!.messageId, run.sends[0]!.messageId])
    expect(run.sends[1]!.scheduledAt).toBe(run.sends[0]!.scheduledAt)
  })

  it('skipped for a reason that ends the run (opt-out, conversion) → the run ends with that reason; later steps never run', async () => {
    const run = await t.start(
      journey([
        { id: 'first', type: 'send', template: 't' },
        { id: 'after', type: 'update_trait', key: 'x', value: 1 },
      ]),
      { fakes: { deliver: async () => ({ status: 'skipped', reason: 'opt_out:marketing', exit: true }) } },
    )
    expect(await run.result()).toMatchObject({ sends: 0, outcome: 'opt_out:marketing' })
    expect(callNames(run)).toEqual(['deliver', 'record'])
    expect((await run.searchAttributes()).EndReason).toBe('opt_out:marketing')
  })

  it('skipped for a reason that does not end the run (suppressed mail) → it goes on', async () => {
    const run = await t.start(
      journey([
        { id: 'first', type: 'send', template: 't' },
        { id: 'after', type: 'update_trait', key: 'x', value: 1 },
      ]),
      { fakes: { deliver: async () => ({ status: 'skipped', reason: 'already_sent' }) } },
    )
    expect(await run.result()).toMatchObject({ sends: 0, outcome: 'completed' })
    expect(callNames(run)).toEqual(['deliver', 'updateTrait', 'record'])
  })

  it('a send that fails on its input ends the run failed, at once, with the records it carried written after all', async () => {
    const run = await t.start(
      journey([
        { id: 'tag', type: 'update_trait', key: 'x', value: 1 },
        { id: 'mail', type: 'send', template: 'broken' },
      ]),
      {
        fakes: {
          deliver: async () => {
            throw new ValidationError('template does not render', [{ path: 'template', rule: 'render', message: 'bad liquid' }])
          },
        },
      },
    )
    const err = await run.result().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkflowFailedError)
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'RunCannotProceed', nonRetryable: true })
    expect(callNames(run)).toEqual(['updateTrait', 'deliver', 'record']) // not retried
    expect(path(run)).toEqual(['tag:updated', 'mail:failed'])
    expect(run.steps.at(-1)!.reason).toBe('template does not render')
    expect(run.runs.map((r) => `${r.phase}:${r.outcome ?? ''}`)).toEqual(['started:', 'ended:failed:send:ValidationError'])
    expect((await run.searchAttributes()).EndReason).toBe('failed:send:ValidationError')
  })
})

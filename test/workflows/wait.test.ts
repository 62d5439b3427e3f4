import { describe, expect, it } from 'vitest'
import { journey, path, until, useInterpreter } from './interpreter.js'

/** The wait step: an event (the user's, or the run's correlation value's) or a timeout decides the branch. */
describe('wait-for-event step', () => {
  const t = useInterpreter()

  const steps = (timeout: string) => [
    {
      id: 'await-purchase',
      type: 'wait' as const,
      for: { event: 'Order Completed', match: 'user' as const },
      timeout,
      onEvent: 'thanks',
      onTimeout: 'nudge',
    },
    { id: 'nudge', type: 'update_trait' as const, key: 'nudged', value: true, next: 'done' },
    { id: 'thanks', type: 'update_trait' as const, key: 'thanked', value: true },
    { id: 'done', type: 'exit' as const },
  ]

  it('the event arriving while it waits → onEvent, at once (not at the timeout)', async () => {
    const run = await t.start(journey(steps('1h')))
    await until(async () => (await run.state()).status === 'waiting')
    const waiting = await run.state()
    expect(waiting).toMatchObject({ step: 'await-purchase' })
    expect(waiting.until! - Date.now()).toBeGreaterThan(3_500_000)
    // Another event of the user, then another user's purchase: neither matches.
    await run.signal({ event: 'Page Viewed' })
    await run.handle.signal('event', { ...run.input.trigger, messageId: 'other-user', event: 'Order Completed', userKey: 'u2' })
    await until(async () => (await run.state()).eventsSeen === 3)
    expect((await run.state()).status).toBe('waiting')
    await run.signal({ event: 'Order Completed' })
    const state = await run.result()
    expect(Date.now() - run.startedAt).toBeLessThan(60_000)
    expect(state).toMatchObject({ outcome: 'exited', eventsSeen: 4 })
    expect(path(run)).toEqual(['await-purchase:event', 'thanks:updated', 'done:exit'])
    expect(run.calls.filter((c) => c.name === 'updateTrait').map((c) => (c.input as { key: string }).key)).toEqual(['thanked'])
  })

  it('no event before the timeout → onTimeout, when the timeout is due', async () => {
    const run = await t.start(journey(steps('600ms')))
    await run.signal({ event: 'Page Viewed' })
    await run.result()
    expect(path(run)).toEqual(['await-purchase:timeout', 'nudge:updated', 'done:exit'])
    const waited = run.steps[0]!
    expect(waited.scheduledAt! - run.runs[0]!.at!).toBeGreaterThanOrEqual(600)
    expect(waited.at!).toBeGreaterThanOrEqual(waited.scheduledAt!)
  })

  it('an event that came before the step counts (it was heard while an earlier step ran)', async () => {
    const run = await t.start(journey([{ id: 'first', type: 'delay', duration: '1s' }, ...steps('1h')]))
    await run.signal({ event: 'Order Completed' })
    const heard = await until(async () => {
      const s = await run.state()
      return s.eventsSeen === 2 && s
    })
    expect(heard.step).toBe('first')
    await run.result()
    expect(path(run)).toEqual(['first:waited', 'await-purchase:event', 'thanks:updated', 'done:exit'])
  })

  it('a correlated wait hears only events carrying the run’s correlation value', async () => {
    const run = await t.start(
      journey(
        [
          {
            id: 'await-checkout',
            type: 'wait',
            for: { event: 'Checkout', match: 'correlation' },
            timeout: '1h',
            onEvent: 'done',
            onTimeout: 'done',
          },
          { id: 'done', type: 'exit' },
        ],
        { entry: { consent: 'marketing', reentry: 'always', correlationKey: 'cartId' } },
      ),
      { correlation: 'cart-1', trigger: { properties: { cartId: 'cart-1' } } },
    )
    await run.signal({ event: 'Checkout', properties: { cartId: 'cart-2' } })
    await until(async () => (await run.state()).eventsSeen === 2)
    expect((await run.state()).status).toBe('waiting')
    await run.signal({ event: 'Checkout', properties: { cartId: 'cart-1' } })
    await run.result()
    expect(path(run)).toEqual(['await-checkout:event', 'done:exit'])
  })

  it('in a loop, each visit waits for a new event: one event moves the wait once', async () => {
    const run = await t.start(
      journey([
        { id: 'listen', type: 'wait', for: { event: 'Ping', match: 'user' }, timeout: '700ms', onEvent: 'count', onTimeout: 'done' },
        { id: 'count', type: 'update_trait', key: 'pinged', value: true, next: 'listen' },
        { id: 'done', type: 'exit' },
      ]),
    )
    await run.signal({ event: 'Ping' })
    await run.result()
    expect(path(run)).toEqual(['listen:event', 'count:updated', 'listen:timeout', 'done:exit'])
  })

  it('a duplicate delivery of an event (same message id) is heard once', async () => {
    const run = await t.start(journey(steps('1h')))
    const e = { event: 'Page Viewed', messageId: 'dup-1' }
    await run.signal(e)
    await run.signal(e)
    await run.handle.signal('event', run.input.trigger) // the trigger again: a duplicate start
    await until(async () => (await run.state()).eventsSeen === 2)
    await run.exitWith('test_done')
    expect(await run.result()).toMatchObject({ eventsSeen: 2, outcome: 'test_done' })
  })
})

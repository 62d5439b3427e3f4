import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { journeyFunnel } from '../../analytics/reports/funnel.js'
import type { Store } from '../../clickhouse/store.js'
import { tempDataDir } from '../helpers/harness.js'
import { runRow, sentRow, trackRow } from '../helpers/rows.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * The journey funnel on planted rows: a run converts when its user buys after its message went
 * out — a purchase before the message, a test account's or one after the range does not count; a
 * run that ended on its exit event before any message is counted apart, as exited.
 */
const T0 = Date.parse('2026-06-01T10:00:00.000Z')
const MIN = 60_000

describe('journey funnel: entered → sent → opened → clicked → converted', () => {
  const data = tempDataDir()
  let store: Store
  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    const run = (w: string, journey: string, user: string, phase: string, outcome: string, at: number, test = 0) =>
      runRow({ workflow_id: w, journey_id: journey, user_key: user, phase, outcome, trigger_event: 'x', at, is_test: test })
    const send = (w: string, journey: string, user: string, at: number, test = 0) =>
      sentRow({ message_id: `m-${w}`, workflow_id: w, journey_id: journey, user_key: user, at, template: 't', is_test: test })
    const order = (user: string, at: number, n: number) => trackRow({ message_id: `o-${user}-${n}`, user, event: 'Order Completed', at })
    await store.client.insert({
      table: 'journey_runs',
      format: 'JSONEachRow',
      values: [
        run('c1', 'cart', 'u1', 'started', '', T0),
        run('c1', 'cart', 'u1', 'ended', 'exit:Order Completed', T0 + MIN), // bought before the reminder: converted
        run('c2', 'cart', 'u2', 'started', '', T0),
        run('c3', 'cart', 'u3', 'started', '', T0),
        run('c4', 'cart', 'u4', 'started', '', T0),
        run('c5', 'cart', 'qa', 'started', '', T0, 1),
        run('b1', 'browse', 'u2', 'started', '', T0),
        run('b2', 'browse', 'u5', 'started', '', T0),
      ],
    })
    await store.client.insert({
      table: 'send_ledger',
      format: 'JSONEachRow',
      values: [
        send('c2', 'cart', 'u2', T0 + 10 * MIN),
        send('c3', 'cart', 'u3', T0 + 10 * MIN),
        send('c4', 'cart', 'u4', T0 + 10 * MIN),
        send('c5', 'cart', 'qa', T0 + 10 * MIN, 1),
        send('b1', 'browse', 'u2', T0 + 30 * MIN),
        send('b2', 'browse', 'u5', T0 + 30 * MIN),
      ],
    })
    await store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [
        order('u2', T0 + 20 * MIN, 1), // after the cart reminder, before the browse mail: the cart run converted, the browse run not
        order('u3', T0 + 5 * MIN, 1), // before its reminder: not converted
        order('u4', T0 + 200 * MIN, 1), // after the range
        order('qa', T0 + 20 * MIN, 1), // a test account
        order('u5', T0 + 40 * MIN, 1),
        order('u5', T0 + 50 * MIN, 2), // two purchases: one converted run
      ],
    })
  })
  afterAll(async () => {
    await store.close()
    data.remove()
  })

  it('counts runs whose user bought after their message as converted, and runs that ended on their exit event first as exited', async () => {
    const rows = await journeyFunnel(store.client, { from: T0 - MIN, until: T0 + 100 * MIN })
    expect(rows).toEqual([
      { journey: 'cart', entered: 4, sent: 3, opened: 0, clicked: 0, converted: 1, exited: 1 },
      { journey: 'browse', entered: 2, sent: 2, opened: 0, clicked: 0, converted: 1, exited: 0 },
    ])
  })
})

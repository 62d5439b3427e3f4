import { describe, expect, it } from 'vitest'
import { JourneyRecorder } from '../../journeys/journeyRecorder.js'
import { uid, useTestNudge } from '../helpers/harness.js'
import { countRows } from '../helpers/store.js'

/** A retried activity hands the recorder the same records again: they are stored once. */
describe('journey recorder: records of a retried activity', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'error' } })

  it('stores a run’s start and a step once however often (or concurrently) they are handed over', async () => {
    const recorder = new JourneyRecorder(fx.nudge.store.client)
    const workflowId = uid('wf')
    const at = Date.now() - 1000
    const trigger = {
      messageId: uid('t'),
      event: 'Product Added',
      type: 'track',
      userKey: 'u1',
      properties: {},
      timestamp: at - 50,
      receivedAt: at - 20,
    }
    const base = { workflowId, journeyId: 'rec', journeyVersion: 1, userKey: 'u1', test: false }
    const records = {
      runs: [{ ...base, correlation: 'c1', phase: 'started' as const, trigger, at }],
      steps: [{ ...base, stepId: 'wait', stepType: 'delay', outcome: 'waited', at: at + 5 }],
    }
    await Promise.all([recorder.all(records), recorder.all(records)])
    await recorder.all(records)
    // Something else at another time is another record.
    await recorder.all({
      runs: [{ ...records.runs[0]!, phase: 'ended', outcome: 'completed', at: at + 10 }],
      steps: [{ ...records.steps[0]!, at: at + 6 }],
    })
    const w = { w: workflowId }
    expect(await countRows(fx.nudge.store.client, 'journey_runs', "workflow_id = {w:String} AND phase = 'started'", w)).toBe(1)
    expect(await countRows(fx.nudge.store.client, 'journey_runs', "workflow_id = {w:String} AND phase = 'ended'", w)).toBe(1)
    expect(await countRows(fx.nudge.store.client, 'journey_steps', 'workflow_id = {w:String}', w)).toBe(2)
  })
})

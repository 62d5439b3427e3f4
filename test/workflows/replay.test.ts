import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import proto from '@temporalio/proto'
import { Worker } from '@temporalio/worker'
import { describe, expect, it } from 'vitest'
import { workflowBundlePath } from '../../workflows/worker/bundleCache.js'

/**
 * Runs that were open when a new version is deployed replay their histories through the new code:
 * it must issue the same commands (activities, timers, search attribute upserts, continue-as-new) in
 * the same order, or those runs fail. These histories were recorded from the interpreter as it was
 * before it was split into one file per step type (histories/record.ts); each must replay cleanly.
 */
describe('replaying recorded journey runs', () => {
  const dir = join(import.meta.dirname, 'histories')
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))

  it('has histories of every step type, an exit, a failure and continue-as-new to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(8)
    const all = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')
    for (const kind of ['MARKER_RECORDED', 'TIMER_FIRED', 'WORKFLOW_EXECUTION_SIGNALED', 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES'])
      expect(all).toContain(`EVENT_TYPE_${kind}`)
    for (const end of ['COMPLETED', 'FAILED', 'CONTINUED_AS_NEW']) expect(all).toContain(`EVENT_TYPE_WORKFLOW_EXECUTION_${end}`)
  })

  it('the current workflow code replays every one without a determinism error', async () => {
    const { History } = proto.temporal.api.history.v1
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: History.fromObject(JSON.parse(readFileSync(join(dir, f), 'utf8'))),
    }))
    const failures: string[] = []
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: await workflowBundlePath() } }, histories))
      if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`)
    expect(failures).toEqual([])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEARCH_ATTRIBUTES } from '../../workflows/searchAttributes.js'
import { type TestNudge, startTestNudge, tempDataDir } from '../helpers/harness.js'

describe('Temporal smoke: a real workflow on the real dev server', () => {
  const data = tempDataDir()
  let nudge: TestNudge

  beforeAll(async () => {
    nudge = await startTestNudge({ dataDir: data.dir, role: 'all' })
  })
  afterAll(async () => {
    await nudge?.stop()
    data.remove()
  })

  it('runs a workflow whose activity queries the store, through our worker', async () => {
    const result = await nudge.temporal.workflow.execute('healthcheckWorkflow', {
      taskQueue: `test-${process.pid}`,
      workflowId: `smoke-${process.pid}-${Date.now()}`,
      args: ['hello'],
    })
    expect(result.label).toBe('hello')
    expect(result.store).toMatch(/^\d+\.\d+/) // the ClickHouse engine's version string
  })

  it('has every Nudge search attribute registered as Keyword', async () => {
    const { customAttributes } = await nudge.temporal.connection.operatorService.listSearchAttributes({ namespace: 'default' })
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(customAttributes?.[name]).toBe(2) // INDEXED_VALUE_TYPE_KEYWORD
  })

  it('reports healthy only with API, store and worker ready', async () => {
    const res = await fetch(`${nudge.url}/healthz`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> }
    expect(Object.keys(body.checks).sort()).toEqual(['api', 'store', 'worker'])
  })
})

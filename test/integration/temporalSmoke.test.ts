import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client, Connection } from '@temporalio/client'
import { describe, expect, it } from 'vitest'
import { freePort } from '../../runtime/freePort.js'
import { ensureTemporalCli } from '../../runtime/temporal/temporalCli.js'
import { startDevServer } from '../../runtime/temporal/temporalDevServer.js'
import { SEARCH_ATTRIBUTES } from '../../workflows/client/searchAttributes.js'
import { useTestNudge } from '../helpers/harness.js'

describe('Temporal smoke: a real workflow on the real dev server', () => {
  const fx = useTestNudge({ role: 'all' })

  it('runs a workflow whose activity queries the store, through our worker', async () => {
    const result = await fx.nudge.temporal.workflow.execute('healthcheckWorkflow', {
      taskQueue: `test-${process.pid}`,
      workflowId: `smoke-${process.pid}-${Date.now()}`,
      args: ['hello'],
    })
    expect(result.label).toBe('hello')
    expect(result.store).toMatch(/^\d+\.\d+/) // the ClickHouse engine's version string
  })

  it('has every Nudge search attribute registered as Keyword', async () => {
    const { customAttributes } = await fx.nudge.temporal.connection.operatorService.listSearchAttributes({ namespace: 'default' })
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) expect(customAttributes?.[name]).toBe(2) // INDEXED_VALUE_TYPE_KEYWORD
  })

  it('reports healthy only with API, store and worker ready', async () => {
    const res = await fetch(`${fx.nudge.url}/healthz`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> }
    expect(Object.keys(body.checks).sort()).toEqual(['api', 'store', 'worker'])
  })
})

describe('embedded Temporal keeps its state in SQLite under the data directory', () => {
  it('a started workflow is still there after the dev server restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nudge-temporal-'))
    const cliPath = await ensureTemporalCli()
    const port = await freePort()
    const dbFile = join(dir, 'temporal', 'temporal.db')
    const workflowId = `durable-${process.pid}-${Date.now()}`
    let server = await startDevServer({ cliPath, port, dbFile })
    try {
      let connection = await Connection.connect({ address: server.address })
      // No worker polls this queue, so the run stays open across the restart.
      await new Client({ connection }).workflow.start('healthcheckWorkflow', {
        taskQueue: `nobody-${process.pid}`,
        workflowId,
        args: ['x'],
      })
      await connection.close()
      await server.stop()
      expect(existsSync(dbFile)).toBe(true)

      server = await startDevServer({ cliPath, port, dbFile })
      connection = await Connection.connect({ address: server.address })
      const described = await new Client({ connection }).workflow.getHandle(workflowId).describe()
      expect(described.status.name).toBe('RUNNING')
      await connection.close()
    } finally {
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

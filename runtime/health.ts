import type { Connection } from '@temporalio/client'
import type { Worker } from '@temporalio/worker'
import type { HealthReport } from '../api/routes/health.js'
import type { Store } from '../clickhouse/store.js'

/** `GET /health`: the store, and the worker where this process runs one (else the Temporal frontend). */
export function healthCheck(x: { store: Store; worker?: Worker; connection: Connection }): () => Promise<HealthReport> {
  return async () => {
    const checks: HealthReport['checks'] = { api: { ok: true } }
    checks.store = { ok: await x.store.ping() }
    if (x.worker) checks.worker = { ok: x.worker.getState() === 'RUNNING', detail: x.worker.getState() }
    else {
      const ok = await x.connection.workflowService.getSystemInfo({}).then(
        () => true,
        () => false,
      )
      checks.temporal = { ok }
    }
    return { ok: Object.values(checks).every((c) => c.ok), checks }
  }
}

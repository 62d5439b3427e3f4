import { createLogger } from '../core/log.js'
import { type Role, startNudge } from './nudge.js'
import { configOrExit, stopOnSignals } from './processLifecycle.js'

/**
 * Scaled mode: `npm run start:api` / `npm run start:worker`, any number of each, against an
 * existing Temporal (TEMPORAL_ADDRESS) and a ClickHouse server (CLICKHOUSE_URL). The embedded
 * engine binds one process to its data directory, so separate processes need the server.
 */
export async function runRole(role: Exclude<Role, 'all'>): Promise<void> {
  const config = configOrExit((c) => [
    ...(c.TEMPORAL_ADDRESS ? [] : [`TEMPORAL_ADDRESS: required for a separate ${role} process (host:port of your Temporal frontend)`]),
    ...(c.CLICKHOUSE_URL
      ? []
      : [`CLICKHOUSE_URL: required for a separate ${role} process (the embedded engine allows one process per data directory)`]),
  ])
  const log = createLogger(config.LOG_LEVEL)
  const nudge = await startNudge({ config, role, temporalAddress: config.TEMPORAL_ADDRESS!, log })
  stopOnSignals(nudge.stop, log)
}

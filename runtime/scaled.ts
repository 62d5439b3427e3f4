import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './log.js'
import { type Role, startNudge } from './nudge.js'

/**
 * Scaled mode: `npm run start:api` / `npm run start:worker`, any number of each, against an
 * existing Temporal (TEMPORAL_ADDRESS) and a ClickHouse server (CLICKHOUSE_URL). The embedded
 * engine binds one process to its data directory, so separate processes need the server.
 */
export async function runRole(role: Exclude<Role, 'all'>): Promise<void> {
  let config
  try {
    config = loadConfig()
    const problems: string[] = []
    if (!config.TEMPORAL_ADDRESS) problems.push(`TEMPORAL_ADDRESS: required for a separate ${role} process (host:port of your Temporal frontend)`)
    if (!config.CLICKHOUSE_URL) problems.push(`CLICKHOUSE_URL: required for a separate ${role} process (the embedded engine allows one process per data directory)`)
    if (problems.length) throw new ConfigError(problems)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(config.LOG_LEVEL)
  const nudge = await startNudge({ config, role, temporalAddress: config.TEMPORAL_ADDRESS!, log })
  let firstSignalAt = 0
  const shutdown = async () => {
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt > 2000) process.exit(130)
      return
    }
    firstSignalAt = Date.now()
    await nudge.stop().then(
      () => process.exit(0),
      (err) => {
        log.error('error while stopping', { err: String(err) })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
}

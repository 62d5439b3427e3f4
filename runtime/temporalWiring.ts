import { Client, Connection } from '@temporalio/client'
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker'
import { ensureSearchAttributes, missingSearchAttributesError } from '../workflows/worker/searchAttributesSetup.js'
import type { Config } from './config.js'
import type { Role } from './role.js'

export interface TemporalConnections {
  connection: Connection
  temporal: Client
  /** The worker's connection (roles `all` and `worker`). */
  nativeConnection?: NativeConnection
  /** Role `all` with TEMPORAL_EAGER_START: a client that starts runs on this process's worker. */
  eagerTemporal?: Client
}

/**
 * The Temporal connections. The worker's connection exists before the router, so the router can
 * start runs eagerly on it.
 */
export async function connectTemporal(config: Config, role: Role, address: string): Promise<TemporalConnections> {
  const connection = await Connection.connect({ address })
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE })
  let nativeConnection: NativeConnection | undefined
  if (role !== 'api') {
    installTemporalRuntime(config.LOG_LEVEL, config.TEMPORAL_METRICS_PORT)
    nativeConnection = await NativeConnection.connect({ address })
  }
  const eagerTemporal =
    role === 'all' && config.TEMPORAL_EAGER_START
      ? new Client({ connection: nativeConnection!, namespace: config.TEMPORAL_NAMESPACE })
      : undefined
  return { connection, temporal, nativeConnection, eagerTemporal }
}

/**
 * A cluster that will not list the search attributes is given the benefit of the doubt; one that
 * lists them missing and will not take them stops the start here, with what to run.
 */
export async function requireSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const missing = missingSearchAttributesError(await ensureSearchAttributes(connection, namespace).catch(() => []), namespace)
  if (missing) throw missing
}

let runtimeInstalled = false
/**
 * The SDK would otherwise shut workers down on SIGINT/SIGTERM by itself, before the API has
 * stopped accepting and the writer has flushed; Nudge orders the shutdown itself.
 */
function installTemporalRuntime(level: Config['LOG_LEVEL'], metricsPort?: number): void {
  if (runtimeInstalled) return
  runtimeInstalled = true
  try {
    Runtime.install({
      shutdownSignals: [],
      // The worker's own metrics (workflow task failures, schedule-to-start latency, slots) for Prometheus.
      ...(metricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } } } : {}),
      logger: new DefaultLogger(level === 'debug' ? 'DEBUG' : level === 'info' ? 'INFO' : level === 'warn' ? 'WARN' : 'ERROR'),
    })
  } catch {
    // Already installed by the host (e.g. a test harness): keep theirs.
  }
}

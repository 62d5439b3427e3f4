import { join, resolve } from 'node:path'
import type { Config } from '../config.js'
import type { ShutdownStep } from '../shutdownPlan.js'
import type { DevServer, DevServerOptions } from './temporalDevServer.js'

/**
 * The Temporal dev server as `npm start` (and `npm run demo`) runs it: SQLite under DATA_DIR, UI on
 * TEMPORAL_UI_PORT. One definition, so `npm run bench:triggers` measures the same server the
 * embedded process runs, not an in-memory one.
 */
export function embeddedDevServerOptions(config: Config, cliPath: string, extra: Partial<DevServerOptions> = {}): DevServerOptions {
  return {
    cliPath,
    port: config.TEMPORAL_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    dbFile: resolve(join(config.DATA_DIR, 'temporal', 'temporal.db')),
    namespace: config.TEMPORAL_NAMESPACE,
    ...extra,
  }
}

/** The last shutdown step of a process that runs the dev server: every connection to it is closed by then. */
export function devServerSteps(dev: DevServer | undefined): ShutdownStep[] {
  return dev ? [{ name: 'stop the Temporal dev server', timeoutMs: 15_000, run: dev.stop }] : []
}

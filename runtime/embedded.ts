import { join, resolve } from 'node:path'
import { ConfigError, loadConfig } from './config.js'
import { createLogger } from './log.js'
import { startNudge } from './nudge.js'
import { type DevServer, startDevServer } from './temporalDevServer.js'
import { TemporalCliUnavailable, ensureTemporalCli } from './temporalCli.js'

/**
 * `npm start`: embedded Nudge in the foreground. Without TEMPORAL_ADDRESS it runs a Temporal dev
 * server (SQLite under DATA_DIR, UI on TEMPORAL_UI_PORT); without CLICKHOUSE_URL the ClickHouse
 * engine runs in this process. Ctrl-C: stop accepting, flush, drain the worker, stop the server.
 */
export async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(config.LOG_LEVEL)
  let dev: DevServer | undefined
  let address = config.TEMPORAL_ADDRESS
  if (!address) {
    let cli: string
    try {
      cli = await ensureTemporalCli((l) => log.info(l))
    } catch (err) {
      if (err instanceof TemporalCliUnavailable) {
        process.stderr.write(`${err.message}\n`)
        process.exit(3)
      }
      throw err
    }
    dev = await startDevServer({
      cliPath: cli,
      port: config.TEMPORAL_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: resolve(join(config.DATA_DIR, 'temporal', 'temporal.db')),
      namespace: config.TEMPORAL_NAMESPACE,
    })
    address = dev.address
    log.info('Temporal dev server ready', { address, ui: dev.uiUrl })
  }

  const nudge = await startNudge({ config, role: 'all', temporalAddress: address, log }).catch(async (err) => {
    await dev?.stop()
    throw err
  })
  const firstKey = [...config.writeKeys.keys()][0]
  process.stdout.write(
    [
      '',
      `Nudge is running (embedded).`,
      `  API          ${nudge.url}      (docs: ${nudge.url}/docs)`,
      `  Temporal UI  ${dev?.uiUrl ?? `external: ${address}`}`,
      `  Store        ${nudge.store.describe}`,
      `  Try:  curl -u ${firstKey}: ${nudge.url}/v1/track -H 'content-type: application/json' \\`,
      `          -d '{"userId":"u1","event":"Product Viewed","properties":{"sku":"A1"}}'`,
      `  Ctrl-C stops it cleanly.`,
      '',
    ].join('\n'),
  )

  let firstSignalAt = 0
  const shutdown = async (signal: string) => {
    // npm and the terminal may both deliver one Ctrl-C; only a second press, later, forces exit.
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt < 2000) return
      log.warn('second signal: exiting now')
      process.exit(130)
    }
    firstSignalAt = Date.now()
    log.info(`${signal}: stopping — no new requests, flushing accepted events, draining the worker`)
    try {
      await nudge.stop()
      await dev?.stop()
      log.info('stopped cleanly')
      process.exit(0)
    } catch (err) {
      log.error('error while stopping', { err: String(err) })
      process.exit(1)
    }
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

main().catch((err) => {
  process.stderr.write(`Nudge failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})

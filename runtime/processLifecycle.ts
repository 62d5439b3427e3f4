import { type Config, ConfigError, loadConfig } from './config.js'
import type { Logger } from '../core/log.js'

/** Loads and checks the configuration; on a problem prints every bad variable and exits with 2. */
export function configOrExit(extraChecks: (c: Config) => string[] = () => []): Config {
  try {
    const config = loadConfig()
    const problems = extraChecks(config)
    if (problems.length) throw new ConfigError(problems)
    return config
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

/**
 * Ctrl-C / SIGTERM run `stop` once and exit 0 (1 if stopping failed). npm and the terminal may
 * both deliver the same Ctrl-C, so a repeat within 2 s is ignored; a later one forces exit.
 */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let firstSignalAt = 0
  const onSignal = async (signal: string) => {
    if (firstSignalAt) {
      if (Date.now() - firstSignalAt < 2000) return
      log.warn('second signal: exiting now')
      process.exit(130)
    }
    firstSignalAt = Date.now()
    log.info(`${signal}: stopping — no new requests, flushing accepted events, draining the worker (again to force exit)`)
    try {
      await stop()
      log.info('stopped cleanly')
      process.exit(0)
    } catch (err) {
      log.error('error while stopping', { err: String(err) })
      process.exit(1)
    }
  }
  process.on('SIGINT', () => void onSignal('SIGINT'))
  process.on('SIGTERM', () => void onSignal('SIGTERM'))
}

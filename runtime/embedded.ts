import { devServerSteps, embeddedDevServerOptions } from './temporal/embeddedDevServer.js'
import { type Logger, createLogger } from '../core/log.js'
import { configOrExit, stopOnSignals } from './processLifecycle.js'
import { type DevServer, startDevServer } from './temporal/temporalDevServer.js'
import { TemporalCliUnavailable, ensureTemporalCli } from './temporal/temporalCli.js'
import { DataDirInUse } from './temporal/devServerRecord.js'
import { startupStep } from './startupStep.js'
import { brokerSteps, startLocalBroker } from './kafka/localBroker.js'
import { KafkaUnavailable } from './kafka/kafkaDist.js'

/**
 * `npm start`: embedded Nudge in the foreground. Without TEMPORAL_ADDRESS it runs a Temporal dev
 * server (SQLite under DATA_DIR, UI on TEMPORAL_UI_PORT); without CLICKHOUSE_URL the ClickHouse
 * engine runs in this process. Ctrl-C: stop accepting, flush, drain the worker, stop the server.
 */
export async function main(): Promise<void> {
  const config = configOrExit()
  const log = createLogger(config.LOG_LEVEL)
  let dev: DevServer | undefined
  let address = config.TEMPORAL_ADDRESS
  if (!address) {
    let cli: string
    try {
      cli = await startupStep(log, 'Temporal CLI', () => ensureTemporalCli((l) => log.info(l)))
    } catch (err) {
      if (err instanceof TemporalCliUnavailable) {
        process.stderr.write(`${err.message}\n`)
        process.exit(3)
      }
      throw err
    }
    // The server boots in its own process while this one loads the rest of Nudge (seconds of
    // module loading); nothing opens the store before it is up (that also proves DATA_DIR is ours).
    const starting = startupStep(log, 'Temporal dev server', () =>
      startDevServer(embeddedDevServerOptions(config, cli, { warn: log.warn })),
    )
    const [, started] = await Promise.all([loadNudge(log), starting.catch((err: unknown) => err)])
    if (started instanceof DataDirInUse) {
      process.stderr.write(`${started.message}\n`)
      process.exit(3)
    }
    if (!isDevServer(started)) throw started
    dev = started
    address = dev.address
    log.info('Temporal dev server ready', { address, ui: dev.uiUrl })
  }

  // INGEST_MODE=kafka without KAFKA_BROKERS: a local broker, like the dev server.
  const broker = await startupStep(log, 'Kafka broker', () => startLocalBroker(config, (l) => log.info(l))).catch(async (err) => {
    await dev?.stop()
    if (!(err instanceof KafkaUnavailable)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(3)
  })
  const { startNudge } = await loadNudge(log)
  const nudge = await startNudge({ config, role: 'all', temporalAddress: address, log }).catch(async (err) => {
    await broker?.stop()
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
      ...(config.INGEST_MODE === 'kafka'
        ? [`  Kafka        ${config.KAFKA_BROKERS!.join(',')} (topic ${config.KAFKA_TOPIC}${broker ? ', local broker' : ''})`]
        : []),
      `  Try:  curl -u ${firstKey}: ${nudge.url}/v1/track -H 'content-type: application/json' \\`,
      `          -d '{"userId":"u1","event":"Product Viewed","properties":{"sku":"A1"}}'`,
      `  Ctrl-C stops it cleanly.`,
      '',
    ].join('\n'),
  )

  // Nudge's own plan, then the dev server last: the worker has drained and every connection to
  // the server is closed by then.
  stopOnSignals(() => nudge.stop([...brokerSteps(broker), ...devServerSteps(dev)]), log)
}

let nudgeModule: Promise<typeof import('./nudge.js')> | undefined
/** The composition root and all it imports (the engines, MJML, the Temporal worker), loaded once. */
function loadNudge(log: Logger): Promise<typeof import('./nudge.js')> {
  return (nudgeModule ??= startupStep(log, 'modules loaded', () => import('./nudge.js')))
}

function isDevServer(x: unknown): x is DevServer {
  return typeof x === 'object' && x !== null && 'address' in x && 'stop' in x
}

main().catch((err) => {
  process.stderr.write(`Nudge failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})

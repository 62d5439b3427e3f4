import { ConsentState } from '../ingest/identity/consentState.js'
import { UserRepository } from '../ingest/identity/users.js'
import { EventWriter } from '../ingest/eventWriter.js'
import { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import { Tombstones } from '../ingest/erasure/tombstones.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import type { OpenedStore } from './storeSetup.js'
import type { Role } from './role.js'
import type { Store } from '../clickhouse/store.js'
import { startupStep } from './startupStep.js'

/**
 * Ingest and identity: consent, the tombstones of erased people, the erasure registry (every
 * in-memory holder of people's data registers with it), the event writer and the users.
 */
export async function startIdentity(config: Config, role: Role, log: Logger, s: OpenedStore & { started: Promise<void> }) {
  const { store, secrets } = s
  const consent = new ConsentState(config.consentDefaults)
  await startupStep(log, 'consent state', () => consent.load(store.client))
  // Erased people's ids (keyed hashes): late signals and retried events of them are dropped.
  const tombstones = new Tombstones(store.client, secrets.erasureSalt)
  await startupStep(log, 'erasure tombstones', () => tombstones.load())
  // With a shared ClickHouse another process may erase: follow its tombstones (a worker's send gate needs them).
  if (config.mode.clickhouse === 'external') tombstones.follow(Math.max(config.CONFIG_POLL_MS, 1000), log.warn)
  const erasure = new ErasureRegistry()
  erasure.register({ name: 'tombstone check cache', eraseUser: () => {}, knows: (p) => tombstones.holdsRaw(p.keys) })
  erasure.register({
    name: 'consent state',
    eraseUser: (p) => consent.forget(p.keys),
    knows: (p) => p.keys.some((k) => consent.recorded(k).size > 0),
  })
  const writer = new EventWriter({
    erased: tombstones,
    client: store.client,
    consent,
    cipher: s.cipher,
    lookupKey: secrets.lookupKey,
    maxBatchRows: config.INGEST_MAX_BATCH_ROWS,
    lingerMs: config.INGEST_LINGER_MS,
    maxQueuedRows: config.INGEST_MAX_QUEUED_ROWS,
    dedupeWindow: config.DEDUPE_WINDOW_IDS,
    log: log.warn,
  })
  writer.onFlush((f) => log.debug('ingest flush', { ...f }))
  const memoryLog = logMemory(writer, log)
  if (role !== 'worker') {
    // Batch numbers go on from the stored ones before anything follows the writer (live segment
    // facts load up to them); the dedupe window's ids (up to DEDUPE_WINDOW_IDS, seconds at a
    // million stored events) load after start-up — see warmUpInBackground.
    await startupStep(log, 'batch numbers', () => writer.resumeSeq())
    warmUpInBackground(writer, log, s.started)
  }
  erasure.register({ name: 'ingest identity links', eraseUser: (p) => writer.forgetLinks(p.keys), knows: (p) => writer.knowsLinks(p.keys) })
  const users = new UserRepository(store.client, s.cipher, consent, secrets.erasureSalt, s.cluster)
  return { consent, tombstones, erasure, writer, memoryLog, users }
}

/**
 * The dedupe window's ids load once the process is up (`after`): ingest is held meanwhile
 * (requests are accepted and wait; each is acknowledged only once stored, after the load), so a
 * retried event from before the restart is still recognised — start-up does not wait for it,
 * and nothing is stored twice. A failed load is retried; after five, ingest goes on without the
 * window and logs that a retry of an event stored before the restart could be stored twice.
 */
function warmUpInBackground(writer: EventWriter, log: Logger, after: Promise<void>): void {
  const started = performance.now()
  // Held from now (HTTP may listen before `after`), loaded once the process is up.
  void writer.exclusive(async () => {
    await after
    for (let attempt = 1; ; attempt++) {
      try {
        const ids = await writer.warmUp()
        log.info('dedupe window loaded (ingest was held until now)', { ids, ms: Math.round(performance.now() - started) })
        return
      } catch (err) {
        if (attempt === 5)
          return log.error('dedupe window not loaded; a retry of an event from before the restart may be stored twice', {
            err: String(err),
          })
        await new Promise((r) => setTimeout(r, 500 * attempt))
      }
    }
  })
}

/** Memory and the ingest queue at debug level, every 5 s (cleared by the shutdown plan). */
function logMemory(writer: EventWriter, log: Logger): NodeJS.Timeout {
  const timer = setInterval(() => {
    const m = process.memoryUsage()
    log.debug('memory', {
      rssMb: Math.round(m.rss / 1e6),
      heapMb: Math.round(m.heapUsed / 1e6),
      externalMb: Math.round(m.external / 1e6),
      queued: writer.queueDepth,
    })
  }, 5000)
  timer.unref()
  return timer
}

/**
 * With a shared ClickHouse, other replicas write consent too: catch up with them. Embedded,
 * every write goes through this process and the state is always current.
 */
export function followConsent(config: Config, log: Logger, x: { consent: ConsentState; store: Store }): NodeJS.Timeout | undefined {
  if (config.mode.clickhouse !== 'external') return undefined
  const timer = setInterval(
    () => void x.consent.load(x.store.client).catch((err) => log.warn('consent refresh failed', { err: String(err) })),
    2000,
  )
  timer.unref()
  return timer
}

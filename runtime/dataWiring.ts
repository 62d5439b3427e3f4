import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import { startExperiments } from './experimentsWiring.js'
import { startIdentity } from './identityWiring.js'
import { createMetrics } from './metrics.js'
import type { Role } from './role.js'
import { startSegments } from './segmentsWiring.js'
import { openMigratedStore } from './storeSetup.js'
import { startupStep } from './startupStep.js'

/**
 * The data side of a process, in the order each part needs the previous ones: the store, ingest
 * and identity, segments, the metrics registry, experiments and flags. What loads in the background
 * (the dedupe window's ids, live segment facts) starts when `started` settles: once the process
 * is up, so start-up does not share the thread with it.
 */
export async function startData(config: Config, role: Role, log: Logger, started: Promise<void>) {
  const opened = await startupStep(log, 'store opened and migrated', () => openMigratedStore(config, log))
  const identity = await startIdentity(config, role, log, { ...opened, started })
  const { segmentStore, previewStore, segments } = await startupStep(log, 'segments', () =>
    startSegments(config, role, log, { ...opened, ...identity, started }),
  )
  const metrics = createMetrics({ writer: identity.writer, segments, erased: identity.tombstones })
  const { experiments, flags } = await startupStep(log, 'experiments and flags', () =>
    startExperiments(config, log, { store: opened.store, segments, erasure: identity.erasure }),
  )
  return { ...opened, ...identity, segmentStore, previewStore, segments, metrics, experiments, flags }
}

export type DataParts = Awaited<ReturnType<typeof startData>>

import { OpenFeature } from '@openfeature/server-sdk'
import { ExperimentService } from '../experiments/experimentService.js'
import { FlagService } from '../experiments/flags/flagService.js'
import { NudgeFlagProvider } from '../experiments/flags/openFeatureProvider.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { SegmentEngine } from '../segments/segmentEngine.js'
import type { Store } from '../clickhouse/store.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'

/**
 * Experiments and flags: in memory everywhere (assignment and evaluation need no I/O), following
 * changes other processes make. Code asks for flags through OpenFeature.
 */
export async function startExperiments(
  config: Config,
  log: Logger,
  x: { store: Store; segments: SegmentEngine; erasure: ErasureRegistry },
): Promise<{ experiments: ExperimentService; flags: FlagService }> {
  const isMember = (segmentId: string, unit: string) => x.segments.isMember(segmentId, unit)
  const experiments = new ExperimentService({
    client: x.store.client,
    globalHoldout: config.GLOBAL_HOLDOUT,
    isMember,
    pollMs: config.CONFIG_POLL_MS,
    log: log.warn,
  })
  await experiments.load()
  experiments.start()
  x.erasure.register({
    name: 'experiment exposures seen',
    eraseUser: (s) => experiments.forgetUnits(s.keys),
    knows: (s) => experiments.knowsUnit(s.keys),
  })
  x.erasure.registerPendingWrites('experiment exposures', () => experiments.flush())
  const flags = new FlagService({
    client: x.store.client,
    deps: { isMember, assign: (key, unit, context) => (experiments.has(key) ? experiments.assign(key, unit, context) : undefined) },
    pollMs: config.CONFIG_POLL_MS,
    log: log.warn,
  })
  await flags.load()
  flags.start()
  await OpenFeature.setProviderAndWait(new NudgeFlagProvider(flags))
  return { experiments, flags }
}

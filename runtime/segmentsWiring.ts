import { SegmentEngine } from '../segments/segmentEngine.js'
import type { EventWriter } from '../ingest/eventWriter.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { Store } from '../clickhouse/store.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import type { Role } from './role.js'
import { parseDuration } from '../core/duration.js'

/**
 * The segment engine. The embedded engine runs one statement at a time per connection; segment
 * evaluation gets a connection of its own so it never queues behind ingest inserts (and the
 * reverse), and admin previews and rule checks another one, with a time budget, so a costly
 * preview never holds up membership changes. A worker process neither ingests nor evaluates segments.
 */
export async function startSegments(
  config: Config,
  role: Role,
  log: Logger,
  x: { store: Store; openConnection: () => Promise<Store>; writer: EventWriter; erasure: ErasureRegistry; started: Promise<void> },
): Promise<{ segmentStore: Store; previewStore: Store; segments: SegmentEngine }> {
  const { writer } = x
  const segmentStore = role === 'worker' ? x.store : await x.openConnection()
  // A ClickHouse server runs statements side by side: only the embedded engine needs a connection of its own.
  const previewStore = role === 'worker' || segmentStore.kind !== 'chdb' ? segmentStore : await x.openConnection()
  const segments = new SegmentEngine({
    client: segmentStore.client,
    previewClient: previewStore.client,
    previewBudgetMs: parseDuration(config.SEGMENT_PREVIEW_TIMEOUT)!,
    computed: { purchaseEvent: config.PURCHASE_EVENT, loyaltyTiers: config.loyaltyTiers },
    consentDefaults: config.consentDefaults,
    sweepIntervalMs: config.SEGMENT_SWEEP_INTERVAL_MS,
    batchMs: config.SEGMENT_BATCH_MS,
    log: log.warn,
    ...(role !== 'worker' && liveSegments(config)
      ? { live: { storedSeq: () => writer.storedSeq, pauseWrites: (fn) => writer.exclusive(fn) } }
      : {}),
  })
  if (role !== 'worker') {
    // Following first, then loading: whatever is stored while facts load is replayed onto them.
    writer.onStored((events, consentChanges, rows) => segments.handleStored(events, consentChanges, rows))
    // Every user's facts (seconds at a million events, on this thread) load once the process is
    // up, not while it starts; what is stored meanwhile is replayed onto them.
    await segments.load({ liveFactsLater: true })
    void x.started.then(() => segments.startLiveFacts())
    if (config.SEGMENT_SWEEP_INTERVAL_MS > 0) segments.start()
  } else {
    // A worker reads membership (journey conditions, flag and experiment targeting); it follows
    // what the ingesting process records.
    await segments.load()
    segments.follow(config.CONFIG_POLL_MS)
  }
  x.erasure.register({
    name: 'segment membership and live facts',
    eraseUser: (s) => segments.forget(s.keys),
    knows: (s) => segments.knows(s.keys),
  })
  return { segmentStore, previewStore, segments }
}

/** Live segment evaluation needs every stored event to pass through this one process. */
function liveSegments(config: Config): boolean {
  return config.SEGMENT_EVALUATION === 'live' || (config.SEGMENT_EVALUATION === 'auto' && config.mode.clickhouse === 'embedded')
}

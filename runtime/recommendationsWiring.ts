import { RecommendationService } from '../content/recommendations/service.js'
import type { Store } from '../clickhouse/store.js'
import type { EventWriter } from '../ingest/eventWriter.js'
import type { ErasureRegistry } from '../ingest/erasure/erasureRegistry.js'
import type { Logger } from '../core/log.js'
import type { Role } from './role.js'

/**
 * Recommendations and behavioral flags for templates: in memory, fed by every stored batch; the
 * history and the store-wide aggregates load in the background (once the process is up) on a connection of their own
 * (results and reports read on it too, not on the ingest one).
 */
export async function startRecommendations(
  role: Role,
  log: Logger,
  x: { openConnection: () => Promise<Store>; writer: EventWriter; erasure: ErasureRegistry; started: Promise<void> },
): Promise<{ recsStore: Store; recommendations: RecommendationService; recsLoaded: Promise<void> }> {
  const recsStore = await x.openConnection()
  const recommendations = new RecommendationService({ client: recsStore.client, log: log.warn })
  x.erasure.register({
    name: 'recommendations behaviour index',
    eraseUser: (s) => recommendations.forgetUsers(s.keys),
    knows: (s) => recommendations.knowsUser(s.keys),
  })
  if (role !== 'worker') x.writer.onStored((events, _consent, rows) => recommendations.onStored(events, rows.seq))
  // Once the process is up: start-up does not share the thread with reading the history.
  const recsLoaded = x.started
    .then(() => recommendations.load())
    .then(() => recommendations.start())
    .catch((err) => log.warn('recommendations did not load; blocks fall back until the next refresh', { err: String(err) }))
  return { recsStore, recommendations, recsLoaded }
}

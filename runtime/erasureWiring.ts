import { Eraser } from '../ingest/erasure/eraser.js'
import type { DataParts } from './dataWiring.js'
import type { Journeys } from './journeysWiring.js'

/** The erasure (`DELETE /api/users/:id`): what it settles first and how it ends the person's runs. */
export function buildEraser(data: DataParts, journeys: Journeys): Eraser {
  const { writer, segments } = data
  return new Eraser({
    users: data.users,
    tombstones: data.tombstones,
    registry: data.erasure,
    // Anything of this user's still queued lands before the delete, or it would survive it.
    settleIngest: async () => {
      await writer.drain()
      await segments.idle(3)
      // Starts already queued for this user are made (and then deleted below) or, asked after
      // the tombstone, not made; bounded, since a slow Temporal retries with back-off.
      if (journeys.router) await Promise.race([journeys.router.idle(), new Promise((r) => setTimeout(r, 10_000).unref())])
    },
    // Their journeys end: no step may send, record or look them up after the erasure.
    endRuns: async (keys) => {
      // Deleted, not only ended: a run's history (trigger properties, activity inputs and results)
      // and its UserId search attribute would stay readable until the namespace's retention ends.
      // Deleting a running run ends it at once; Temporal removes a closed one shortly after.
      for (const k of keys) await journeys.runs.deleteUserRuns(k)
      // A second look, a moment later: a run whose start the router had already made when the
      // tombstone was written may show in visibility only now (later starts are refused by it).
      for (const k of keys) await journeys.runs.terminateUserRuns(k, 'user erased')
    },
  })
}

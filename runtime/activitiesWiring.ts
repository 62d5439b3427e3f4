import type { Store } from '../clickhouse/store.js'
import type { Deliverer } from '../delivery/deliver.js'
import { TraitWriter } from '../ingest/identity/traitWriter.js'
import type { JourneyRecorder } from '../journeys/journeyRecorder.js'
import type { JourneyService } from '../journeys/journeyService.js'
import { scheduleFanOut } from '../journeys/scheduleFanOut.js'
import { createJourneyActivities } from '../workflows/activities/journeyActivities.js'
import type { JourneyRuns } from '../workflows/client/journeyRuns.js'
import type { JourneyDepsIn } from './journeyDeps.js'

/** The journey activities the worker runs: facts, fan-out, trait writes and sends, on this process's parts. */
export function buildJourneyActivities(
  d: JourneyDepsIn,
  x: {
    sendStore: Store
    journeys: JourneyService
    runs: JourneyRuns
    testUsers: ReadonlySet<string>
    recorder: JourneyRecorder
    deliverer: Deliverer
  },
) {
  const traits = new TraitWriter(x.sendStore.client)
  return createJourneyActivities({
    flags: d.flags,
    experiments: d.experiments,
    recorder: x.recorder,
    deliverer: x.deliverer,
    defaultTimeZone: d.config.QUIET_HOURS_TZ,
    facts: async (u, want) => {
      const p = want.computed ? await d.segments.profileOf(u) : { segments: d.segments.segmentsOf(u), computed: {} }
      const traits = await d.users.traits([u])
      return { traits, segments: p.segments, computed: p.computed }
    },
    fanOut: scheduleFanOut({
      journeys: x.journeys,
      memberPage: (seg, after, limit) => d.segments.memberPage(seg, after, limit),
      isGranted: (u, t) => d.consent.isGranted(u, t),
      isTestUser: (u) => x.testUsers.has(u),
      runs: x.runs,
    }),
    setTrait: async (u, key, value, messageId) => {
      // Through ingest, as an identify, where this process ingests: stored, deduplicated by
      // message id, seen by segments. A worker-only process writes the trait itself.
      if (!d.ingest) return traits.set(u, key, value, messageId)
      await d.ingest.ingest({
        kind: 'identify',
        body: { type: 'identify', userId: u, traits: { [key]: value }, messageId },
        source: 'journeys',
        receivedAt: Date.now(),
        bodyBytes: 0,
      })
    },
  })
}

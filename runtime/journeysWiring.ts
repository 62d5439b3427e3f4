import { messageBodies } from '../delivery/messageBodies.js'
import { runHistory } from '../journeys/runHistory.js'
import { JourneyRuns } from '../workflows/client/journeyRuns.js'
import type { AppJourneys } from '../api/app.js'
import type { JourneyDepsIn } from './journeyDeps.js'
import { startDefinitions } from './journeyDefinitions.js'
import { startMail } from './mailWiring.js'
import { buildEngagement } from './engagementWiring.js'
import { startRouting } from './routingWiring.js'
import { buildSendPath } from './sendPathWiring.js'
import { buildJourneyActivities } from './activitiesWiring.js'

export type { JourneyDepsIn } from './journeyDeps.js'

/**
 * Journeys' composition: definitions, the trigger router (processes that ingest), and the send
 * path and activities (processes that run the worker). The send path gets a store connection of
 * its own, so pre-send checks never queue behind ingest inserts on the embedded engine.
 */
export async function buildJourneys(d: JourneyDepsIn) {
  const { config } = d
  const { templates, journeys } = await startDefinitions(d)
  const runs = new JourneyRuns(d.temporal, config.TEMPORAL_TASK_QUEUE, d.eagerTemporal)
  const testUsers = new Set(config.TEST_USER_IDS)
  const sendStore = d.role === 'api' ? d.store : await d.openConnection()
  const { mailStore, mailbox, transport } = await startMail(d)
  const engagement = buildEngagement(d, sendStore.client)
  const routing = d.role !== 'worker' ? await startRouting(d, { journeys, runs, testUsers, client: sendStore.client }) : undefined
  const send =
    d.role !== 'api'
      ? await buildSendPath(d, { sendStore, templates, transport, testUsers, outcomes: engagement.outcomes, messages: engagement.messages })
      : undefined
  const activities = send ? buildJourneyActivities(d, { sendStore, journeys, runs, testUsers, ...send }) : undefined
  const { router, progress } = routing ?? {}
  const parts = {
    history: runHistory(sendStore.client),
    bodies: messageBodies(sendStore.client),
    templates,
    tracking: d.tracking,
    recommendations: d.recommendations,
    computed: async (u: string) => (await d.segments.profileOf(u)).computed,
    ...engagement,
    journeys,
    runs,
    router,
    gate: send?.gate,
    deliverer: send?.deliverer,
    mailbox,
    activities,
  } satisfies AppJourneys & Record<string, unknown>
  return {
    ...parts,
    // Shutdown comes in phases that the process's shutdown plan (runtime/shutdownSteps.ts) orders
    // around the worker's drain: send activities use all of this until the worker has drained.
    /** What the last sends wrote is stored (ledger, steps, outcomes). */
    async settleWrites() {
      await engagement.outcomes.settled()
      await send?.recorder.settled()
    },
    /** Runs for what is stored are started, and how far routing got is saved. */
    async settleRouting() {
      await router?.idle()
      await progress?.stop()
    },
    /** Definition and template polling. */
    stopPolling() {
      journeys.stop()
      templates.stop()
    },
    /** The mail transport's pooled connections, then the capture mailbox (its last rows stored). */
    async closeDelivery() {
      transport.close()
      await mailbox.stop()
    },
    /** The connections opened here (send path, mailbox, pre-send checks). */
    async closeStores() {
      if (sendStore !== d.store) await sendStore.close()
      if (mailStore !== d.store) await mailStore.close()
      await send?.gateStore.close()
    },
  }
}

export type Journeys = Awaited<ReturnType<typeof buildJourneys>>

import { boundedMessageId } from '../core/boundedId.js'
import type { JourneyService } from './journeyService.js'
import type { RunPort } from './triggerRouter.js'

export interface FanOutDeps {
  journeys: Pick<JourneyService, 'has' | 'get'>
  memberPage(segmentId: string, after: string, limit: number): Promise<string[]>
  isGranted(userKey: string, topic: string): boolean
  isTestUser(userKey: string): boolean
  runs: Pick<RunPort, 'start'>
}

const PAGE = 500
const PARALLEL = 16

/**
 * A schedule trigger's interval: every member of the journey's segment (with its consent) enters.
 * The slot names each entry (`schedule:<journey>:<slot>:<user>`, bounded as a message id), so a retried fan-out never
 * starts anyone twice for one slot. Returns how many entered.
 */
export function scheduleFanOut(d: FanOutDeps) {
  return async (journeyId: string, slot: number, heartbeat: () => void): Promise<number> => {
    const j = d.journeys.has(journeyId) ? d.journeys.get(journeyId) : undefined
    const t = j?.definition.trigger
    if (!j || j.status !== 'active' || t?.type !== 'schedule') return 0
    let after = ''
    let started = 0
    for (;;) {
      const page = await d.memberPage(t.segment, after, PAGE)
      const entering = page.filter((u) => d.isGranted(u, j.definition.entry.consent))
      for (let i = 0; i < entering.length; i += PARALLEL)
        await Promise.all(
          entering.slice(i, i + PARALLEL).map((u) => {
            const trigger = {
              messageId: boundedMessageId(`schedule:${journeyId}:${slot}:${u}`),
              event: 'Scheduled',
              type: 'schedule',
              userKey: u,
              properties: { journey: journeyId },
              timestamp: slot,
              receivedAt: slot,
            }
            return d.runs.start(j.definition, j.version, u, trigger, { test: d.isTestUser(u) })
          }),
        )
      started += entering.length
      heartbeat()
      if (page.length < PAGE) return started
      after = page[page.length - 1]!
    }
  }
}

import { defineQuery, defineSignal } from '@temporalio/workflow'
import type { JourneyDefinition } from '../../journeys/journeySchema.js'
import type { JourneyEvent } from '../../journeys/matchEvent.js'
import type { FlagUse } from '../activities/journeyActivities.js'

/**
 * What the outside sees of a journey run: what starts it, what it answers when asked, and the
 * signals it takes. The client (client/journeyRuns.ts) names the same signals and query by string.
 */
export interface JourneyInput {
  journey: JourneyDefinition
  version: number
  userKey: string
  correlation?: string
  trigger: JourneyEvent
  /** A test account: the run is real, delivery goes to the capture mailbox, analytics leave it out. */
  test: boolean
  /** Set when the run continues as new: where it was. */
  resume?: Resume
}

export interface Resume {
  stepId: string
  received: JourneyEvent[]
  seen: string[]
  payload: Record<string, unknown>
  experimentKey?: string
  variant?: string
  flags: Record<string, FlagUse>
  sends: number
  /** The delay or wait being resumed ends at this time (ms), as it would have in the old run. */
  waitUntil?: number
  /** Events a wait step already went on with (`step\u0000messageId`). */
  consumed?: string[]
}

export interface JourneyState {
  journeyId: string
  version: number
  userKey: string
  correlation?: string
  step: string
  status: 'running' | 'waiting' | 'sending' | 'cooldown' | 'ended'
  /** Until when the current step waits (ms), if it does. */
  until?: number
  outcome?: string
  experimentKey?: string
  variant?: string
  flags: Record<string, FlagUse>
  sends: number
  eventsSeen: number
}

export const eventSignal = defineSignal<[JourneyEvent]>('event')
export const exitSignal = defineSignal<[{ reason: string }]>('exit')
export const stateQuery = defineQuery<JourneyState>('state')

import type { RunRecords } from '../journeys/journeyRecorder.js'
import type { ExitCriterion } from '../journeys/journeySchema.js'
import type { SegmentCondition } from '../journeys/triggerCondition.js'
import type { JourneyEvent } from '../journeys/matchEvent.js'

/** A send a run asks for; the message id is the workflow's, stable across retries. */
export interface SendRequest {
  messageId: string
  workflowId: string
  journeyId: string
  journeyVersion: number
  stepId: string
  userKey: string
  correlationKey?: string
  correlation?: string
  trigger: JourneyEvent
  template: string
  subject?: string
  topic: string
  priority: number
  exit: ExitCriterion[]
  /** The trigger's segment condition, re-checked before the send (segment and schedule triggers). */
  condition?: SegmentCondition
  experimentKey?: string
  variant?: string
  flags: Record<string, unknown>
  scheduledAt: number
  test: boolean
  /** Records the run buffered; stored with this send's own (one round trip fewer per step). */
  records?: RunRecords
  /** The run's last step: record its end with this send. */
  last?: boolean
}

export interface Recipient {
  email?: string
  /** The contact's keyed lookup hash (as stored with it): what the ledger keeps instead of the address. */
  lookupHash?: string
  traits: Record<string, unknown>
  test: boolean
}

export type GateDecision =
  | { action: 'send'; recipient: Recipient; resumed: boolean }
  | { action: 'already_sent' }
  | { action: 'skip'; reason: string; exit: boolean }
  | { action: 'defer'; reason: string; until: number }

import type { ClickHouseClient } from '@clickhouse/client'
import { GroupInsert } from '../../clickhouse/groupInsert.js'
import { ENGAGEMENT_EVENTS } from '../../segments/ruleSchema.js'
import type { DroppedSignal, Tombstones } from '../../ingest/erasure/tombstones.js'
import type { MessageInfo } from './messageLookup.js'

export type OutcomeKind = 'delivered' | 'open' | 'click' | 'unsubscribe' | 'bounce' | 'complaint'

export interface Outcome {
  kind: OutcomeKind
  message: MessageInfo
  at: number
  url?: string
  machine?: boolean
  machineReason?: string
  bounceType?: 'hard' | 'soft'
  provider?: string
  userAgent?: string
  /**
   * The id of the report this outcome came from, the same for every delivery of that report
   * (an ESP webhook retried, an SNS at-least-once redelivery, a replay within the accepted age):
   * the user's event takes it as its message id, so ingest keeps it once. Without it, each
   * delivery of one soft bounce was another "Email Bounced", and three made a suppression.
   */
  reportId?: string
}

/** The behavioral event each outcome also is (segments' engagement rules and suppression read them). */
const AS_EVENT: Record<OutcomeKind, string> = {
  delivered: ENGAGEMENT_EVENTS.delivered,
  open: ENGAGEMENT_EVENTS.opened,
  click: ENGAGEMENT_EVENTS.clicked,
  unsubscribe: ENGAGEMENT_EVENTS.unsubscribed,
  bounce: ENGAGEMENT_EVENTS.bounced,
  complaint: ENGAGEMENT_EVENTS.complained,
}

/**
 * Records outcomes: a row in `message_events` (the analytics fact: message, journey, step,
 * experiment, variant) and, where this process ingests, the same fact as the user's event through
 * the ingest path — so segments, journeys and the pre-send suppression check hear of it like any
 * other behavior. Test accounts' outcomes are recorded with is_test and never become events.
 */
export class OutcomeRecorder {
  private readonly rows: GroupInsert<Record<string, unknown>>

  constructor(
    client: ClickHouseClient,
    private readonly track?: (
      userKey: string,
      event: string,
      properties: Record<string, unknown>,
      at: number,
      messageId?: string,
    ) => Promise<void>,
    /** Tombstones of erased people: their mail's late signals are dropped and counted. */
    private readonly erased?: Pick<Tombstones, 'isErasedMessage' | 'dropped'>,
  ) {
    this.rows = new GroupInsert(client, 'message_events')
  }

  /**
   * Whether a signal (open, click, unsubscribe, bounce…) belongs to erased mail. Then the caller
   * drops it: it is counted here and never stored, so it cannot bring the person back.
   */
  dropsErased(kind: DroppedSignal, messageId: string): boolean {
    if (!this.erased?.isErasedMessage(messageId)) return false
    this.erased.dropped(kind)
    return true
  }

  async record(o: Outcome): Promise<void> {
    const m = o.message
    // Last line of defence: a message looked up just before its erasure must not write after it.
    if (this.dropsErased(o.kind === 'delivered' ? 'delivered' : 'outcome', m.messageId)) return
    const row = {
      message_id: m.messageId,
      event: o.kind,
      at: o.at,
      user_key: m.userKey,
      journey_id: m.journeyId,
      step_id: m.stepId,
      template: m.template,
      experiment_key: m.experimentKey,
      variant: m.variant,
      url: o.url ?? '',
      machine: o.machine ? 1 : 0,
      machine_reason: o.machineReason ?? '',
      bounce_type: o.bounceType ?? '',
      provider: o.provider ?? '',
      user_agent: (o.userAgent ?? '').slice(0, 512),
      is_test: m.test ? 1 : 0,
    }
    await this.rows.add(row)
    if (this.track && !m.test && o.kind !== 'delivered')
      await this.track(
        m.userKey,
        AS_EVENT[o.kind],
        {
          message_id: m.messageId,
          journey_id: m.journeyId,
          step_id: m.stepId,
          template: m.template,
          ...(m.experimentKey ? { experiment_key: m.experimentKey, variant: m.variant } : {}),
          ...(o.url ? { url: o.url } : {}),
          ...(o.machine ? { automated: true, machine_reason: o.machineReason } : {}),
          ...(o.bounceType ? { bounce_type: o.bounceType } : {}),
          ...(o.kind === 'unsubscribe' ? { topic: m.topic } : {}),
        },
        o.at,
        o.reportId,
      )
  }

  settled(): Promise<void> {
    return this.rows.settled()
  }
}

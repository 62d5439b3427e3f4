import type { ClickHouseClient } from '@clickhouse/client'
import { GroupInsert } from '../analytics/groupInsert.js'
import type { JourneyEvent } from './matchEvent.js'

export interface RunRecord {
  workflowId: string
  journeyId: string
  journeyVersion: number
  userKey: string
  correlation: string
  phase: 'started' | 'ended'
  outcome?: string
  trigger: JourneyEvent
  test: boolean
  /** When it happened (ms); default: when recorded. Runs buffer records and write them later. */
  at?: number
}

export interface StepRecord {
  workflowId: string
  journeyId: string
  journeyVersion: number
  userKey: string
  stepId: string
  stepType: string
  outcome: string
  reason?: string
  scheduledAt?: number
  experimentKey?: string
  variant?: string
  flags?: Record<string, unknown>
  messageId?: string
  test: boolean
  at?: number
}

/** What a run buffered since it last wrote: its start and the steps it took. */
export interface RunRecords {
  runs: RunRecord[]
  steps: StepRecord[]
}

export interface LedgerRecord {
  messageId: string
  status: 'sending' | 'sent'
  workflowId: string
  journeyId: string
  stepId: string
  userKey: string
  recipientHash: string
  template: string
  /** The template version rendered (0: built in). */
  templateVersion?: number
  subject: string
  topic: string
  priority: number
  experimentKey?: string
  variant?: string
  scheduledAt: number
  test: boolean
}

/**
 * Every run, step and send, into ClickHouse in group commits; each call resolves once stored,
 * so an activity that returns has recorded what it did (and a retried one may record twice —
 * readers take the latest row per step; the ledger by message id).
 */
export class JourneyRecorder {
  private readonly runs: GroupInsert<Record<string, unknown>>
  private readonly steps: GroupInsert<Record<string, unknown>>
  private readonly ledger: GroupInsert<Record<string, unknown>>

  constructor(client: ClickHouseClient, private readonly now: () => number = Date.now) {
    this.runs = new GroupInsert(client, 'journey_runs')
    this.steps = new GroupInsert(client, 'journey_steps')
    this.ledger = new GroupInsert(client, 'send_ledger')
  }

  run(r: RunRecord): Promise<void> {
    return this.runs.add({
      workflow_id: r.workflowId,
      journey_id: r.journeyId,
      journey_version: r.journeyVersion,
      user_key: r.userKey,
      correlation: r.correlation,
      phase: r.phase,
      outcome: r.outcome ?? '',
      trigger_message_id: r.trigger.messageId,
      trigger_event: r.trigger.event,
      trigger_at: r.trigger.timestamp,
      received_at: r.trigger.receivedAt,
      at: r.at ?? this.now(),
      is_test: r.test ? 1 : 0,
    })
  }

  step(s: StepRecord): Promise<void> {
    return this.steps.add({
      workflow_id: s.workflowId,
      journey_id: s.journeyId,
      journey_version: s.journeyVersion,
      user_key: s.userKey,
      step_id: s.stepId,
      step_type: s.stepType,
      outcome: s.outcome,
      reason: s.reason ?? '',
      scheduled_at: s.scheduledAt ?? null,
      at: s.at ?? this.now(),
      experiment_key: s.experimentKey ?? '',
      variant: s.variant ?? '',
      flags: JSON.stringify(s.flags ?? {}),
      message_id: s.messageId ?? '',
      is_test: s.test ? 1 : 0,
    })
  }

  async all(r: RunRecords): Promise<void> {
    await Promise.all([...r.runs.map((x) => this.run(x)), ...r.steps.map((x) => this.step(x))])
  }

  send(l: LedgerRecord): Promise<void> {
    return this.ledger.add({
      message_id: l.messageId,
      status: l.status,
      at: this.now(),
      workflow_id: l.workflowId,
      journey_id: l.journeyId,
      step_id: l.stepId,
      user_key: l.userKey,
      recipient_hash: l.recipientHash,
      template: l.template,
      template_version: l.templateVersion ?? 0,
      subject: l.subject,
      topic: l.topic,
      priority: l.priority,
      experiment_key: l.experimentKey ?? '',
      variant: l.variant ?? '',
      scheduled_at: l.scheduledAt,
      is_test: l.test ? 1 : 0,
    })
  }

  async settled(): Promise<void> {
    await Promise.all([this.runs.settled(), this.steps.settled(), this.ledger.settled()])
  }
}

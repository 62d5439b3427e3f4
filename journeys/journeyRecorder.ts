import type { ClickHouseClient } from '@clickhouse/client'
import { GroupInsert } from '../clickhouse/groupInsert.js'
import { RecentIds } from '../ingest/recentIds.js'
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
 * so an activity that returns has recorded what it did. A retried activity hands the same
 * records again (a run's records carry workflow time, the same on every attempt): those already
 * stored, or being stored, by this process are not written twice. (The ledger is read by message
 * id and status, so its rows need no such care.)
 */
export class JourneyRecorder {
  private readonly runs: GroupInsert<Record<string, unknown>>
  private readonly steps: GroupInsert<Record<string, unknown>>
  private readonly ledger: GroupInsert<Record<string, unknown>>
  private readonly stored = new RecentIds(200_000)
  private readonly storing = new Map<string, Promise<void>>()

  constructor(
    client: ClickHouseClient,
    private readonly now: () => number = Date.now,
    /**
     * Whether the user was erased after `at` (the erasure's tombstones): a run's record that was
     * still on its way when its user was erased belongs to the erased person and is not written.
     */
    private readonly isErased?: (userKey: string, at: number) => boolean,
  ) {
    this.runs = new GroupInsert(client, 'journey_runs')
    this.steps = new GroupInsert(client, 'journey_steps')
    this.ledger = new GroupInsert(client, 'send_ledger')
  }

  run(r: RunRecord): Promise<void> {
    if (this.isErased?.(r.userKey, r.trigger.timestamp)) return Promise.resolve()
    const key = r.at === undefined ? undefined : `run\u0000${r.workflowId}\u0000${r.phase}\u0000${r.at}\u0000${r.trigger.messageId}`
    return this.once(key, () =>
      this.runs.add({
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
      }),
    )
  }

  step(s: StepRecord): Promise<void> {
    if (this.isErased?.(s.userKey, s.at ?? this.now())) return Promise.resolve()
    const key =
      s.at === undefined ? undefined : `step\u0000${s.workflowId}\u0000${s.stepId}\u0000${s.outcome}\u0000${s.at}\u0000${s.messageId ?? ''}`
    return this.once(key, () =>
      this.steps.add({
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
      }),
    )
  }

  /**
   * Writes a keyed record unless this process stored it already or is storing it now. (Keys are
   * kept as 64-bit fingerprints: two different records colliding among 200 000 is about a
   * one-in-a-billion chance, and would cost one analytics row, never a send.)
   */
  private once(key: string | undefined, write: () => Promise<void>): Promise<void> {
    if (key === undefined) return write()
    if (this.stored.has(key)) return Promise.resolve()
    const pending = this.storing.get(key)
    if (pending) return pending
    const p = write()
      .then(() => this.stored.add(key))
      .finally(() => this.storing.delete(key))
    this.storing.set(key, p)
    return p
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

/**
 * Rows planted straight into the store's tables, with the values most tests do not care about
 * filled in: a test names what its case depends on, the rest is the everyday default.
 */

/** A `journey_runs` row. */
export interface RunRow {
  workflow_id: string
  journey_id: string
  journey_version: number
  user_key: string
  correlation: string
  phase: string
  outcome: string
  trigger_message_id: string
  trigger_event: string
  trigger_at: number
  received_at: number
  at: number
  is_test: number
}

/** A run's start (phase 'started', version 1, triggered by a 'Product Added' received when it happened, at `at`). */
export function runRow(o: Pick<RunRow, 'workflow_id' | 'journey_id' | 'user_key' | 'at'> & Partial<RunRow>): RunRow {
  return {
    journey_version: 1,
    correlation: '',
    phase: 'started',
    outcome: '',
    trigger_message_id: `t-${o.workflow_id}`,
    trigger_event: 'Product Added',
    trigger_at: o.at,
    received_at: o.at,
    is_test: 0,
    ...o,
  }
}

/** A `send_ledger` row. */
export interface SentRow {
  message_id: string
  status: string
  at: number
  workflow_id: string
  journey_id: string
  step_id: string
  user_key: string
  recipient_hash: string
  template: string
  subject: string
  topic: string
  priority: number
  experiment_key: string
  variant: string
  scheduled_at: number
  is_test: number
}

/** A marketing mail of step 'mail' sent at `at` (scheduled then too), no experiment, not a test send. */
export function sentRow(o: Pick<SentRow, 'message_id' | 'workflow_id' | 'journey_id' | 'user_key' | 'at'> & Partial<SentRow>): SentRow {
  return {
    status: 'sent',
    step_id: 'mail',
    recipient_hash: '',
    template: 'cart-reminder',
    subject: 's',
    topic: 'marketing',
    priority: 0,
    experiment_key: '',
    variant: '',
    scheduled_at: o.at,
    is_test: 0,
    ...o,
  }
}

/** An `events` row: a known user's track call, received when it happened unless `received_at` says otherwise. */
export function trackRow(o: {
  message_id: string
  user: string
  event: string
  at: number
  properties?: Record<string, unknown>
  received_at?: number
  source?: string
}) {
  return {
    message_id: o.message_id,
    source: o.source ?? 't',
    type: 'track',
    event: o.event,
    user_id: o.user,
    user_key: o.user,
    timestamp: o.at,
    received_at: o.received_at ?? o.at,
    properties: JSON.stringify(o.properties ?? {}),
    traits: '{}',
    context: '{}',
  }
}

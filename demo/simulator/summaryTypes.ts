import type { FalseTriggerKind, RaceKind } from './modelTypes.js'
import type { Scenario } from './scenario.js'

/** What a simulation run reports: counts, races, false triggers and the ground truth per arm. */

export interface ArmSummary {
  name: string
  /** Configured: percentage points over the base conversion (0 for `none`). */
  lift: number
  /** Configured: base + lift — what the arm's clean abandoned carts should convert at. */
  expectedConversion: number
  /** Derived: the purchase-after-click probability that realizes the lift. */
  purchaseGivenClick: number
  /** Clean abandoned carts whose first reminder fell in this arm (`none`: no reminder arrived). */
  carts: number
  converted: number
  conversionRate: number | null
  /** Normal-approximation 95 % interval of the realized rate. */
  ci95: [number, number] | null
  byCause: { organic: number; reminder: number }
  revenue: number
  revenuePerCart: number | null
  /** Mean and 90th percentile of simulated minutes from the cart to its reminder (Nudge's latency shows here). */
  meanDelayMinutes: number | null
  p90DelayMinutes: number | null
}

export interface ContentSummary {
  name: string
  revenueMultiplier: number
  recipients: number
  opened: number
  clicked: number
  purchases: number
  revenue: number
  revenuePerRecipient: number | null
}

export interface SimulationSummary {
  runId: string
  seed: number
  url: string
  startedAt: string
  finishedAt: string
  durationMs: number
  aborted: boolean
  timeScale: { minutesPerSecond: number; simulatedMinutes: number }
  shoppers: { total: number; done: number; test: number; withCart: number; abandoned: number; userIdPrefix: string }
  events: { sent: number; unique: number; resent: number; stale: number; skipped: number; byType: Record<string, number> }
  requests: { batches: number; http: number; retries: number; failures: number }
  mail: {
    seen: number
    reminders: number
    other: number
    testFlagged: number
    opened: number
    clicked: number
    unsubscribed: number
    purchases: { reminder: number; organic: number; mail: number }
    /** Mail that arrived after its shopper stopped watching (counted by the final sweep; not answered). */
    missedAfterWatch: number
    pollErrors: number
  }
  /** Races and mistakes injected (sent), per kind. */
  races: Record<RaceKind, number>
  /** What the shoppers saw that should not have happened, per kind. */
  falseTriggers: Record<FalseTriggerKind, number>
  groundTruth: {
    baseConversion: number
    arms: ArmSummary[]
    /** Abandoned carts left out of the arms (their races decide them), and test accounts'. */
    excluded: { purchaseBeforeReminder: number; optOutMidJourney: number; testAccount: number }
    content: ContentSummary[]
  }
  /** Up to 20 ids per race kind (carts, users or message ids) to look up in Nudge. */
  samples: Record<RaceKind, string[]>
  /** Up to 20 per false trigger kind: `<userId> <messageId>[ <cartId>]` of the mail. */
  falseTriggerSamples: Record<FalseTriggerKind, string[]>
  errors: { count: number; first: string[] }
  /** What makes this run's figures less trustworthy (late reminders blurring the arms, missed mail). */
  warnings: string[]
  scenario: Scenario
}

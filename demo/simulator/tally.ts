import {
  FALSE_TRIGGER_KINDS,
  type FalseTriggerKind,
  RACE_KINDS,
  type RaceKind,
  type ShopperPlan,
  type ShopperState,
  eventLabel,
} from './modelTypes.js'
import type { Scenario } from './scenario.js'

/** At most this many sample ids per kind in the summary. */
export const SAMPLE_CAP = 20

/** What one shopper's run leaves for the summary. */
export interface ShopperOutcome {
  plan: ShopperPlan
  state: ShopperState
  firstReminder: Map<string, { arm: string; delayMinutes: number | undefined }>
  purchases: Map<string, { cause: string; revenue: number }>
  /** Message ids of the mail this shopper saw. */
  mails: Set<string>
}

/** The run's counters, shared by every shopper (one event loop: plain increments). */
export class Tally {
  eventsSent = 0
  readonly unique = new Set<string>()
  readonly byType: Record<string, number> = {}
  resent = 0
  stale = 0
  skipped = 0
  readonly races = Object.fromEntries(RACE_KINDS.map((k) => [k, 0])) as Record<RaceKind, number>
  readonly samples = Object.fromEntries(RACE_KINDS.map((k) => [k, [] as string[]])) as Record<RaceKind, string[]>
  readonly falseTriggers = Object.fromEntries(FALSE_TRIGGER_KINDS.map((k) => [k, 0])) as Record<FalseTriggerKind, number>
  readonly falseTriggerSamples = Object.fromEntries(FALSE_TRIGGER_KINDS.map((k) => [k, [] as string[]])) as Record<
    FalseTriggerKind,
    string[]
  >
  readonly mail = {
    seen: 0,
    reminders: 0,
    other: 0,
    testFlagged: 0,
    opened: 0,
    clicked: 0,
    unsubscribed: 0,
    purchases: { reminder: 0, organic: 0, mail: 0 },
  }
  readonly content = new Map<string, { recipients: number; opened: number; clicked: number; purchases: number; revenue: number }>()
  missedAfterWatch = 0
  errorCount = 0
  readonly errors: string[] = []

  constructor(s: Scenario) {
    for (const v of [...s.effects.contentVariants.map((c) => c.name), 'default'])
      this.content.set(v, { recipients: 0, opened: 0, clicked: 0, purchases: 0, revenue: 0 })
  }

  sent(events: { messageId: string; type: string; event?: string }[], opts: { resend?: boolean; stale?: boolean }): void {
    for (const e of events) {
      this.eventsSent++
      if (opts.resend) this.resent++
      if (opts.stale) this.stale++
      if (this.unique.has(e.messageId)) continue
      this.unique.add(e.messageId)
      const label = eventLabel(e as { type: 'track'; event?: string })
      this.byType[label] = (this.byType[label] ?? 0) + 1
    }
  }

  race(kind: RaceKind, sample: string): void {
    this.races[kind]++
    if (this.samples[kind].length < SAMPLE_CAP) this.samples[kind].push(sample)
  }

  error(err: unknown): void {
    if (isAbort(err)) return
    this.errorCount++
    if (this.errors.length < SAMPLE_CAP) this.errors.push(err instanceof Error ? err.message : String(err))
  }
}

const isAbort = (err: unknown) => (err as { name?: unknown } | undefined)?.name === 'AbortError'

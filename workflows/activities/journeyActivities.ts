import { heartbeat } from '@temporalio/activity'
import { boundedMessageId } from '../../core/boundedId.js'
import type { ExperimentService } from '../../experiments/experimentService.js'
import type { FlagService } from '../../experiments/flags/flagService.js'
import { parseDuration } from '../../core/duration.js'
import type { Deliverer, DeliverResult } from '../../delivery/deliver.js'
import type { SendRequest } from '../../delivery/sendRequest.js'
import type { JourneyRecorder, RunRecords } from '../../journeys/journeyRecorder.js'
import type { ConditionTest, JourneyStep } from '../../journeys/journeySchema.js'
import { evaluateTests, type UserFacts } from '../../journeys/evaluateCondition.js'
import { isTimeZone, msUntilInside } from '../../core/localTime.js'
import type { JourneyEvent } from '../../journeys/matchEvent.js'

/** What a run asked a flag and got: kept on the run (memo, search attributes) and in its history. */
export interface FlagUse {
  flag: string
  value: number
  reason: string
  variant?: string
  experimentKey?: string
}

export interface JourneyActivityDeps {
  flags: FlagService
  experiments: ExperimentService
  recorder: JourneyRecorder
  deliverer: Deliverer
  /** Traits, segments and (when asked) computed properties of a user. */
  facts(userKey: string, want: { computed: boolean }): Promise<UserFacts>
  /** Writes a trait as an identify would (through ingest where this process has it). */
  setTrait(userKey: string, key: string, value: unknown, messageId: string): Promise<void>
  defaultTimeZone: string
  /** Starts the journey's run for each member of its segment (a schedule trigger's interval). */
  fanOut?: (journeyId: string, slot: number, heartbeat: () => void) => Promise<number>
  now?: () => number
}

type DelayStep = Extract<JourneyStep, { type: 'delay' }>

function flagUse(flags: FlagService, flag: string, unit: string, defaultMs: number, context: Record<string, unknown> = {}): FlagUse {
  const d = flags.evaluate(flag, 'number', defaultMs, { ...context, targetingKey: unit })
  const experimentKey = d.flagMetadata?.experimentKey
  return {
    flag,
    value: d.value,
    reason: d.errorCode ? `${d.reason}:${d.errorCode}` : d.reason,
    ...(d.variant ? { variant: d.variant } : {}),
    ...(typeof experimentKey === 'string' ? { experimentKey } : {}),
  }
}

/**
 * The journey interpreter's activities. Each one is where a run meets the world — flags, the
 * clock in a user's timezone, profiles, assignments, the store, the mail transport — so its
 * result is recorded in the run's history and a replay never asks again.
 */
export function createJourneyActivities(deps: JourneyActivityDeps) {
  const now = deps.now ?? Date.now
  return {
    async resolveDelay(a: { step: DelayStep; userKey: string }): Promise<{ ms: number; flag?: FlagUse }> {
      const s = a.step
      let ms = 0
      let flag: FlagUse | undefined
      if (s.flag) {
        const fallback = parseDuration(s.flag.default) ?? 0
        flag = flagUse(deps.flags, s.flag.key, a.userKey, fallback)
        ms = flag.value
      } else if (s.duration !== undefined) ms = parseDuration(s.duration) ?? 0
      if (s.until) {
        const facts = await deps.facts(a.userKey, { computed: false })
        const tz = [s.until.timezone, facts.traits.timezone].find(isTimeZone) ?? deps.defaultTimeZone
        ms += msUntilInside(now() + ms, tz, s.until.from, s.until.to)
      }
      return { ms, ...(flag ? { flag } : {}) }
    },

    async evaluateCondition(a: { tests: ConditionTest[]; userKey: string; trigger: JourneyEvent }): Promise<boolean> {
      const computed = a.tests.some((t) => 'computed' in t)
      const needsProfile = a.tests.some((t) => !('trigger' in t))
      const facts = needsProfile ? await deps.facts(a.userKey, { computed }) : { traits: {}, segments: [], computed: {} }
      return evaluateTests(a.tests, facts, a.trigger)
    },

    async assignVariant(a: { experiment: string; userKey: string; context: Record<string, unknown> }) {
      if (!deps.experiments.has(a.experiment))
        return { variant: null, holdout: false, payload: {}, reason: 'unknown_experiment', inExperiment: false }
      const r = deps.experiments.assign(a.experiment, a.userKey, a.context)
      return { variant: r.variant, holdout: r.holdout, payload: r.payload, reason: r.reason, inExperiment: r.inExperiment }
    },

    async updateTrait(a: { userKey: string; key: string; value: unknown; messageId: string }): Promise<void> {
      // Written as an identify event: its message id must fit ingest's limit (the run's id in it
      // can be long). The same input gives the same id on every attempt and replay.
      await deps.setTrait(a.userKey, a.key, a.value, boundedMessageId(a.messageId))
    },

    async record(r: RunRecords): Promise<void> {
      await deps.recorder.all(r)
    },

    async fanOutSchedule(a: { journeyId: string; slot: number }): Promise<number> {
      if (!deps.fanOut) throw new Error('this worker cannot fan out scheduled journeys')
      return deps.fanOut(a.journeyId, a.slot, () => heartbeat())
    },

    async deliver(req: SendRequest): Promise<DeliverResult> {
      return deps.deliverer.deliver(req)
    },
  }
}

export type JourneyActivities = ReturnType<typeof createJourneyActivities>

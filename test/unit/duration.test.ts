import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DURATION_TEXT, durationIssue, durationTextMs, parseDuration, storedDurationMs } from '../../core/duration.js'
import { durationMs as segmentDurationMs } from '../../segments/duration.js'
import { rule } from '../../segments/ruleSchema.js'
import { journeyDefinition, span } from '../../journeys/journeySchema.js'
import { coerceFlagValue, flagDefinition } from '../../experiments/flags/flagSchema.js'
import { loadConfig } from '../../runtime/config.js'
import { withDurationUnits } from '../../journeys/legacyDurations.js'
import { compileSegment } from '../../segments/compile.js'
import { DEFAULT_LOYALTY_TIERS, DEFAULT_RFM } from '../../segments/computedSql.js'
import type { JourneyDefinition } from '../../journeys/journeySchema.js'

/** The one duration grammar (core/duration.ts): a number and a unit, for every kind. */
describe('the duration grammar', () => {
  it.each<[string, unknown, number | null]>([
    ['milliseconds', '250ms', 250],
    ['seconds', '90s', 90_000],
    ['minutes', '15m', 900_000],
    ['hours', '24h', 86_400_000],
    ['days', '7d', 604_800_000],
    ['weeks', '2w', 1_209_600_000],
    ['a fraction', '1.5h', 5_400_000],
    ['zero', '0s', 0],
    ['surrounding space', ' 15m ', 900_000],
    ['a bare number', 900, null],
    ['a number as text', '900', null],
    ['a word for the unit', '15 minutes', null],
    ['an unknown unit', '3y', null],
    ['a negative', '-5m', null],
    ['a unit in capitals', '15M', null],
    ['empty', '', null],
    ['not a string', { m: 15 }, null],
  ])('%s: %j → %j ms', (_what, input, ms) => {
    expect(durationTextMs(input)).toBe(ms)
  })

  it.each<[unknown, string | null]>([
    ['15m', null],
    [900, 'unit'],
    [0, 'unit'],
    ['15 minutes', 'format'],
    ['900', 'format'],
    [null, 'format'],
    ['2w', 'max'],
  ])('as API input %j breaks rule %j', (input, ruleName) => {
    expect(durationIssue(input, { ms: 7 * 86_400_000, text: 'a week' })?.rule ?? null).toBe(ruleName)
  })

  it('a bare number is refused with a message that says what to write', () => {
    expect(durationIssue(15)!.message).toBe('must be a duration with a unit, e.g. 15m (units: ms, s, m, h, d, w); a bare number is refused')
  })
})

/** Definitions stored before units were required keep their old meaning: nothing acknowledged changes. */
describe('reading stored durations', () => {
  it.each<[string, number | string, number | null, number]>([
    ['segments: a bare number was seconds', 3, 3000, 3000],
    ['segments: text by the grammar', '7d', 604_800_000, 604_800_000],
    ['journeys and flags: a bare number was milliseconds', 3000, 3000, 3_000_000],
  ])('%s', (_what, stored, journeyMs, segmentMs) => {
    expect(parseDuration(stored)).toBe(typeof stored === 'number' ? stored : journeyMs)
    expect(segmentDurationMs(stored)).toBe(typeof stored === 'number' ? stored * 1000 : segmentMs)
  })

  it('storedDurationMs reads text the same for every kind and refuses nonsense', () => {
    for (const unit of ['s', 'ms'] as const) {
      expect(storedDurationMs('90s', unit)).toBe(90_000)
      expect(storedDurationMs(-1, unit)).toBeNull()
      expect(storedDurationMs('soon', unit)).toBeNull()
    }
    expect(segmentDurationMs('soon')).toBeNaN()
  })

  it('a segment stored with a bare number compiles to the same window as the same seconds with their unit', () => {
    const ctx = {
      now: Date.parse('2026-06-01T00:00:00Z'),
      purchaseEvent: 'Order Completed',
      rfm: DEFAULT_RFM,
      loyaltyTiers: DEFAULT_LOYALTY_TIERS,
      consentDefaults: {},
    }
    const stored = compileSegment({ performed: { event: 'E', within: 3 } }, ctx)
    expect(stored).toEqual(compileSegment({ performed: { event: 'E', within: '3s' } }, ctx))
    expect(stored).not.toEqual(compileSegment({ performed: { event: 'E', within: '3ms' } }, ctx))
  })

  it('a journey stored with bare numbers passes the check again (activation) with the same lengths of time', () => {
    const legacy = {
      id: 'old',
      name: 'Old',
      trigger: { type: 'schedule', every: 3_600_000, segment: 's' },
      entry: { consent: 'marketing', reentry: 'cooldown', cooldown: 86_400_000 },
      exit: [],
      steps: [
        { id: 'wait', type: 'delay', duration: 900_000 },
        { id: 'flagged', type: 'delay', flag: { key: 'f', default: 60_000 } },
        { id: 'listen', type: 'wait', for: { event: 'E', match: 'user' }, timeout: 5000 },
      ],
    } as unknown as JourneyDefinition
    expect(journeyDefinition.safeParse(legacy).success).toBe(false)
    const read = journeyDefinition.parse(withDurationUnits(legacy)) as any
    expect(parseDuration(read.trigger.every)).toBe(3_600_000)
    expect(parseDuration(read.entry.cooldown)).toBe(86_400_000)
    expect(read.steps.map((s: any) => parseDuration(s.duration ?? s.flag?.default ?? s.timeout))).toEqual([900_000, 60_000, 5000])
    expect((legacy as any).steps[0].duration).toBe(900_000) // the stored definition is left as it is
  })

  it('a flag served or set by an experiment payload as a number is milliseconds, as it always was', () => {
    expect(coerceFlagValue('duration', 900_000)).toBe(900_000)
    expect(coerceFlagValue('duration', '15m')).toBe(900_000)
  })
})

/** Every kind refuses a bare number as input, naming the field and the rule `unit`. */
describe('each kind refuses a bare number', () => {
  const issueOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; params?: unknown }[] } }) =>
    r.error?.issues.map((i) => ({ path: i.path.join('.'), rule: (i.params as { rule?: string } | undefined)?.rule }))

  it('segments', () => {
    expect(issueOf(rule.safeParse({ performed: { event: 'E', within: 7 } }))).toEqual([{ path: 'performed.within', rule: 'unit' }])
    expect(rule.safeParse({ performed: { event: 'E', within: '7s' } }).success).toBe(true)
  })

  it('journeys', () => {
    const journey = (duration: unknown) => ({
      id: 'd',
      name: 'd',
      trigger: { type: 'event', event: 'E' },
      steps: [{ id: 'a', type: 'delay', duration }],
    })
    expect(issueOf(journeyDefinition.safeParse(journey(60_000)))).toEqual([{ path: 'steps.0.duration', rule: 'unit' }])
    expect(journeyDefinition.safeParse(journey('60s')).success).toBe(true)
  })

  it('flags (and so the durations experiments set through them)', () => {
    const flag = (defaultValue: unknown) => ({ key: 'f.delay', type: 'duration', defaultValue })
    expect(issueOf(flagDefinition.safeParse(flag(900)))).toEqual([{ path: 'defaultValue', rule: 'unit' }])
    expect(flagDefinition.safeParse(flag('15m')).success).toBe(true)
  })

  it('the API documents a duration as a string with its unit, never a number', () => {
    const doc = z.toJSONSchema(span, { io: 'input', unrepresentable: 'any' })
    expect(doc).toMatchObject({ type: 'string', pattern: DURATION_TEXT.source })
    expect(doc).not.toHaveProperty('anyOf')
    expect(JSON.stringify(z.toJSONSchema(rule, { io: 'input', unrepresentable: 'any' }))).toContain(
      `"within":{"type":"string","pattern":${JSON.stringify(DURATION_TEXT.source)}`,
    )
  })

  it('configuration', () => {
    expect(() => loadConfig({ SHUTDOWN_GRACE: '8' })).toThrow(/SHUTDOWN_GRACE/)
    expect(() => loadConfig({ DUPLICATE_WINDOW: '86400' })).toThrow(/DUPLICATE_WINDOW/)
    expect(loadConfig({ SHUTDOWN_GRACE: '8s' }).SHUTDOWN_GRACE).toBe('8s')
  })
})

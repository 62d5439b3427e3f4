import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../experiments/assign.js'
import { reminderDelayFlag, reminderTimingExperiment } from '../../experiments/examples.js'
import { type FlagDeps, compileFlag, evaluateFlag } from '../../experiments/flags/evaluateFlag.js'
import { type FlagInput, flagDefinition, normalizeFlag, parseDuration } from '../../experiments/flags/flagSchema.js'

const flag = (input: Record<string, unknown>) => compileFlag(normalizeFlag(flagDefinition.parse(input) as FlagInput))
const deps = (over: Partial<FlagDeps> = {}): FlagDeps => ({ isMember: () => false, assign: () => undefined, ...over })
const assignment = (variant: string | null, flags: Record<string, unknown> = {}): Assignment => ({
  experiment: reminderTimingExperiment.key,
  unit: 'u1',
  inExperiment: variant !== null,
  variant,
  holdout: false,
  bucket: 0.1,
  reason: variant ? 'assigned' : 'outside_traffic',
  payload: { flags },
})

const delay = reminderDelayFlag

describe('flag evaluation (OpenFeature reasons)', () => {
  it('durations are served as milliseconds; "15m", "1h", "90s" and numbers are read', () => {
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration(1500)).toBe(1500)
    expect(parseDuration('soon')).toBeNull()
    expect(flag(delay).flag.defaultValue).toBe(3_600_000)
  })

  it('first matching rule wins: segment → TARGETING_MATCH, attribute condition → TARGETING_MATCH', () => {
    const f = flag(delay)
    expect(
      evaluateFlag(f, delay.key, 'number', 0, { targetingKey: 'u1' }, deps({ isMember: (s, u) => s === 'vip' && u === 'u1' })),
    ).toMatchObject({
      value: 900_000,
      reason: 'TARGETING_MATCH',
      variant: 'vips',
    })
    expect(evaluateFlag(f, delay.key, 'number', 0, { targetingKey: 'u2', country: 'SE' }, deps())).toMatchObject({
      value: 1_800_000,
      reason: 'TARGETING_MATCH',
      variant: 'nordics',
    })
  })

  it('an experiment rule serves what the unit’s variant sets, with the variant (SPLIT)', () => {
    const f = flag(delay)
    const d = evaluateFlag(
      f,
      delay.key,
      'number',
      0,
      { targetingKey: 'u3' },
      deps({ assign: () => assignment('fast', { 'cart_abandonment.reminder_delay': '15m' }) }),
    )
    expect(d).toMatchObject({
      value: 900_000,
      reason: 'SPLIT',
      variant: 'fast',
      flagMetadata: { experimentKey: reminderTimingExperiment.key, variant: 'fast' },
    })
    // Not in the experiment: the next rule decides.
    const out = evaluateFlag(f, delay.key, 'number', 0, { targetingKey: 'u3' }, deps({ assign: () => assignment(null) }))
    expect(['SPLIT', 'DEFAULT']).toContain(out.reason)
    expect(out.variant === 'half' || out.variant === 'default').toBe(true)
  })

  it('a percentage rollout splits by the shared hash: about half, and sticky', () => {
    const f = flag(delay)
    const values = Array.from({ length: 10_000 }, (_, i) => evaluateFlag(f, delay.key, 'number', 0, { targetingKey: `user-${i}` }, deps()))
    const split = values.filter((d) => d.reason === 'SPLIT').length
    expect(split / 10_000).toBeGreaterThan(0.47)
    expect(split / 10_000).toBeLessThan(0.53)
    expect(values.filter((d) => d.reason === 'DEFAULT').every((d) => d.value === 3_600_000)).toBe(true)
    expect(evaluateFlag(f, delay.key, 'number', 0, { targetingKey: 'user-7' }, deps())).toEqual(values[7])
  })

  it('unknown flag, wrong type, switched off: the caller’s or the flag’s default, never a throw', () => {
    expect(evaluateFlag(undefined, 'nope', 'boolean', true, {}, deps())).toMatchObject({
      value: true,
      reason: 'ERROR',
      errorCode: 'FLAG_NOT_FOUND',
    })
    expect(evaluateFlag(flag(delay), delay.key, 'boolean', false, {}, deps())).toMatchObject({
      value: false,
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    })
    const off = flag({ ...delay, enabled: false })
    expect(evaluateFlag(off, delay.key, 'number', 0, { targetingKey: 'u1', country: 'NO' }, deps())).toMatchObject({
      value: 3_600_000,
      reason: 'DISABLED',
    })
    const bad = evaluateFlag(
      flag(delay),
      delay.key,
      'number',
      0,
      { targetingKey: 'u3' },
      deps({ assign: () => assignment('odd', { 'cart_abandonment.reminder_delay': 'whenever' }) }),
    )
    expect(bad).toMatchObject({ value: 0, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' })
  })

  it('invalid definitions name the field', () => {
    const r = flagDefinition.safeParse({
      key: 'x',
      type: 'number',
      defaultValue: 'ten',
      rules: [{ value: 1 }, { id: 'rule-1', value: 'two' }],
    })
    expect(r.success).toBe(false)
    const paths = r.error!.issues.map((i) => i.path.join('.'))
    expect(paths).toEqual(expect.arrayContaining(['defaultValue', 'rules.1.value', 'rules.1.id']))
  })
})

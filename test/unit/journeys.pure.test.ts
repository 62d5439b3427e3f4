import { describe, expect, it } from 'vitest'
import { evaluateTests } from '../../journeys/evaluateCondition.js'
import { journeyDefinition } from '../../journeys/journeySchema.js'
import { localSecondOfDay, msUntilInside, parseWindow } from '../../core/localTime.js'
import { correlationOf, matchesRunEvent } from '../../journeys/matchEvent.js'
import { validateJourney } from '../../journeys/validateJourney.js'
import { exampleJourneys } from '../../journeys/examples.js'

const catalog = {
  hasTemplate: (id: string) =>
    ['cart-reminder', 'browse-offer', 'browse-social-proof', 'reengagement', 'loyalty-offer', 'related-products'].includes(id),
  flagType: (k: string) =>
    ['cart_abandonment.reminder_delay', 'browse_abandonment.delay', 'content_follow_up.delay'].includes(k)
      ? 'duration'
      : k === 'copy'
        ? 'string'
        : undefined,
  hasSegment: (id: string) => id === 'inactive-30d',
  variantsOf: (k: string) =>
    k === 'cart-reminder-timing' ? ['h1', 'm15', 'holdout'] : k === 'browse-offer-vs-proof' ? ['offer', 'proof'] : undefined,
}

describe('journey definitions', () => {
  it('every seed example parses and validates', () => {
    for (const j of exampleJourneys) expect(validateJourney(journeyDefinition.parse(j), catalog), j.id).toEqual([])
  })

  it('names the field of each graph problem', () => {
    const j = journeyDefinition.parse({
      id: 'g',
      name: 'g',
      trigger: { type: 'segment_entry', segment: 'nope' },
      entry: { reentry: 'cooldown', correlationKey: 'cart_id' },
      steps: [
        { id: 'a', type: 'delay', flag: { key: 'copy', default: '1h' } },
        { id: 'a', type: 'experiment', experiment: 'browse-offer-vs-proof', branches: { other: 'a' } },
        { id: 'w', type: 'wait', for: { event: 'X', match: 'correlation' }, timeout: '1h', onEvent: 'gone' },
      ],
    })
    const rules = validateJourney(j, catalog).map((i) => `${i.path} ${i.rule}`)
    expect(rules).toEqual(
      expect.arrayContaining([
        'steps[1].id unique',
        'steps[2].onEvent reference',
        'entry.cooldown required',
        'trigger.segment reference',
        'entry.correlationKey event_trigger',
        'steps[0].flag.key type',
        'steps[1].branches.other reference',
      ]),
    )
  })

  it('a loop is fine when it waits, refused when it would spin', () => {
    const base = { id: 'l', name: 'l', trigger: { type: 'event', event: 'E' } }
    const waits = journeyDefinition.parse({
      ...base,
      steps: [
        { id: 'a', type: 'delay', duration: '1d', next: 'b' },
        { id: 'b', type: 'condition', when: [{ trait: { key: 'k', op: 'exists' } }], then: 'a', else: 'c' },
        { id: 'c', type: 'exit' },
      ],
    })
    expect(validateJourney(waits, catalog)).toEqual([])
    const spins = journeyDefinition.parse({
      ...base,
      steps: [
        { id: 'a', type: 'update_trait', key: 'k', value: 1 },
        { id: 'b', type: 'condition', when: [{ trait: { key: 'k', op: 'exists' } }], then: 'a', else: 'a' },
      ],
    })
    expect(validateJourney(spins, catalog).map((i) => i.rule)).toEqual(['cycle'])
  })

  it('durations: a bad one is a 400-style issue naming the step field', () => {
    const r = journeyDefinition.safeParse({
      id: 'd',
      name: 'd',
      trigger: { type: 'event', event: 'E' },
      steps: [{ id: 'a', type: 'delay', duration: '15 minutes' }],
    })
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]!.path).toEqual(['steps', 0, 'duration'])
  })
})

describe('local time', () => {
  const at = (iso: string) => Date.parse(iso)
  it('reads the wall clock of a timezone', () => {
    expect(localSecondOfDay(at('2026-06-01T12:00:00Z'), 'Europe/Oslo')).toBe(14 * 3600) // CEST
    expect(localSecondOfDay(at('2026-01-01T12:00:00Z'), 'America/New_York')).toBe(7 * 3600)
  })
  it('waits until the window opens, wrapping midnight', () => {
    expect(msUntilInside(at('2026-06-01T05:30:00Z'), 'UTC', '09:00', '18:00')).toBe(3.5 * 3_600_000)
    expect(msUntilInside(at('2026-06-01T10:00:00Z'), 'UTC', '09:00', '18:00')).toBe(0)
    expect(msUntilInside(at('2026-06-01T19:00:00Z'), 'UTC', '09:00', '18:00')).toBe(14 * 3_600_000)
    // quiet 21:00–08:00 → allowed window 08:00–21:00
    expect(msUntilInside(at('2026-06-01T23:00:00Z'), 'UTC', '08:00', '21:00')).toBe(9 * 3_600_000)
    expect(msUntilInside(at('2026-06-01T22:00:00Z'), 'UTC', '21:00', '08:00')).toBe(0)
  })
  it('parses quiet-hour windows', () => {
    expect(parseWindow('21:00-08:00')).toEqual({ from: '21:00', to: '08:00' })
    expect(parseWindow('')).toBeUndefined()
  })
})

describe('event matching and conditions', () => {
  const e = (event: string, properties: Record<string, unknown>, userKey = 'u1') => ({
    messageId: 'm',
    event,
    type: 'track',
    userKey,
    properties,
    timestamp: 0,
    receivedAt: 0,
  })
  it('correlation values are text; objects and empty values do not correlate', () => {
    expect(correlationOf({ cart: { id: 42 } }, 'cart.id')).toBe('42')
    expect(correlationOf({ cart_id: '' }, 'cart_id')).toBeUndefined()
    expect(correlationOf({ cart_id: { a: 1 } }, 'cart_id')).toBeUndefined()
  })
  it('by correlation value, by user, with filters', () => {
    const run = { userKey: 'u1', correlationKey: 'cart_id', correlation: 'c1' }
    expect(
      matchesRunEvent({ event: 'Order Completed', match: 'correlation' }, e('Order Completed', { cart_id: 'c1' }, 'someone-else'), run),
    ).toBe(true)
    expect(matchesRunEvent({ event: 'Order Completed', match: 'correlation' }, e('Order Completed', { cart_id: 'c2' }), run)).toBe(false)
    expect(matchesRunEvent({ event: 'Order Completed', match: 'user' }, e('Order Completed', {}, 'u2'), run)).toBe(false)
    expect(
      matchesRunEvent(
        { event: 'Order Completed', match: 'user', where: [{ path: 'total', op: 'gte', value: 50 }] },
        e('Order Completed', { total: '60' }),
        run,
      ),
    ).toBe(true)
    expect(
      matchesRunEvent(
        { event: 'Order Completed', match: 'user', where: [{ path: 'total', op: 'gte', value: 50 }] },
        e('Order Completed', { total: 10 }),
        run,
      ),
    ).toBe(false)
  })
  it('condition tests read traits, computed properties, segments and the trigger', () => {
    const facts = { traits: { age: 31, plan: 'pro' }, segments: ['vip'], computed: { rfm_tier: 'vip', ltv: 900 } }
    const trigger = e('Product Added', { price: 120, category: 'shoes' })
    expect(
      evaluateTests([{ trait: { key: 'age', op: 'between', value: [25, 45] } }, { segment: { id: 'vip', member: true } }], facts, trigger),
    ).toBe(true)
    expect(evaluateTests([{ computed: { property: 'ltv', op: 'gt', value: 1000 } }], facts, trigger)).toBe(false)
    expect(
      evaluateTests(
        [{ trigger: { path: 'properties.category', op: 'eq', value: 'shoes' } }, { segment: { id: 'lapsed', member: false } }],
        facts,
        trigger,
      ),
    ).toBe(true)
    expect(evaluateTests([{ trait: { key: 'missing', op: 'not_exists' } }], facts, trigger)).toBe(true)
  })
})

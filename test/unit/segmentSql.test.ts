import { describe, expect, it } from 'vitest'
import { DEFAULT_LOYALTY_TIERS, DEFAULT_RFM } from '../../segments/computedSql.js'
import { compileSegment, requiresEvents } from '../../segments/compile.js'
import type { Rule } from '../../segments/ruleSchema.js'
import { findCycle, validateRule } from '../../segments/validateRule.js'
import { triggersOf } from '../../segments/triggers.js'

const ctx = {
  now: Date.parse('2026-06-30T12:00:00.000Z'),
  purchaseEvent: 'Order Completed',
  rfm: DEFAULT_RFM,
  loyaltyTiers: DEFAULT_LOYALTY_TIERS,
  consentDefaults: { marketing: true },
}

describe('segment SQL (snapshots: a change to generated SQL is a reviewed change)', () => {
  it.each<[string, Rule]>([
    ['viewed within 7 days', { performed: { event: 'Product Viewed', within: '7d' } }],
    [
      'cart abandoned',
      { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h', sameProperty: 'cartId' } },
    ],
    [
      'region + recency + engagement',
      {
        and: [
          { trait: { key: 'country', op: 'eq', value: 'NO' } },
          { not: { engagement: { action: 'clicked', within: '30d' } } },
          { consent: { topic: 'marketing', granted: true } },
        ],
      },
    ],
  ])('%s', (_name, rule) => {
    const q = compileSegment(rule, ctx)
    expect(q.sql).toMatchSnapshot()
    expect(q.params).toMatchSnapshot()
  })

  it('per-user scope adds bound key filters', () => {
    const q = compileSegment({ performed: { event: 'Product Viewed' } }, ctx, { users: ['u1'], keys: ['u1', 'a1'] })
    expect(q.sql).toMatchSnapshot()
    expect(Object.values(q.params)).toContainEqual(['u1', 'a1'])
  })

  it('equal sub-expressions share one aggregate and one parameter', () => {
    const q = compileSegment(
      { and: [{ computed: { property: 'r_score', op: 'gte', value: 4 } }, { computed: { property: 'f_score', op: 'gte', value: 4 } }] },
      ctx,
    )
    expect(q.sql.match(/countIf\(e\.event = \{p\d+:String\}\) AS a\d+/g)).toHaveLength(1)
  })

  it('knows when users without events can match', () => {
    expect(requiresEvents({ performed: { event: 'X' } })).toBe(true)
    expect(requiresEvents({ performed: { event: 'X', count: { lte: 0 } } })).toBe(false)
    expect(requiresEvents({ or: [{ performed: { event: 'X' } }, { trait: { key: 'k', op: 'exists' } }] })).toBe(false)
    expect(requiresEvents({ and: [{ performed: { event: 'X' } }, { trait: { key: 'k', op: 'exists' } }] })).toBe(true)
  })
})

describe('rule validation names the JSON path of the bad node', () => {
  it.each<[string, unknown, string, string]>([
    ['unknown node kind', { and: [{ performed: { event: 'A' } }, { launched: {} }] }, 'rule.and[1]', 'one_of'],
    ['two kinds in one node', { performed: { event: 'A' }, trait: { key: 'k', op: 'exists' } }, 'rule', 'one_of'],
    ['bad duration', { performed: { event: 'A', within: '7 days' } }, 'rule.performed.within', 'format'],
    ['negative count', { not: { performed: { event: 'A', count: { gte: -1 } } } }, 'rule.not.performed.count.gte', 'min'],
    ['track without event', { performed: { type: 'track' } }, 'rule.performed.event', 'required'],
    ['unknown computed property', { computed: { property: 'karma', op: 'gt', value: 1 } }, 'rule.computed.property', 'one_of'],
    ['empty and', { and: [] }, 'rule.and', 'min'],
  ])('%s', (_name, input, path, rule) => {
    const { issues } = validateRule(input)
    expect(issues).toContainEqual(expect.objectContaining({ path, rule }))
  })

  it('accepts the seed examples and applies defaults', () => {
    const { rule, issues } = validateRule({ performed: { event: 'Product Viewed', within: '7d' } })
    expect(issues).toEqual([])
    expect(rule).toEqual({ performed: { event: 'Product Viewed', within: '7d', type: 'track' } })
  })

  it('finds reference cycles', () => {
    const rules: Record<string, Rule> = {
      a: { segment: { id: 'b' } },
      b: { and: [{ segment: { id: 'c' } }] },
      c: { performed: { event: 'X' } },
    }
    expect(findCycle('c', { segment: { id: 'a' } }, (id) => rules[id])).toEqual(['c', 'a', 'b', 'c'])
    expect(findCycle('c', { performed: { event: 'Y' } }, (id) => rules[id])).toBeUndefined()
  })
})

describe('what can change a segment', () => {
  it('collects event names, windows and whether the sweep must recompute in full', () => {
    const t = triggersOf({
      and: [
        { performed: { event: 'Product Viewed', within: '7d' } },
        { not: { sequence: { first: { event: 'Product Added' }, then: { event: 'Order Completed' }, within: '24h' } } },
        { trait: { key: 'age', op: 'gt', value: 20 } },
      ],
    })
    expect([...t.events].sort()).toEqual(['Order Completed', 'Product Added', 'Product Viewed'])
    expect([...t.types]).toEqual(['identify'])
    expect([...t.windows].sort((a, b) => a - b)).toEqual([86_400_000, 604_800_000, 2_592_000_000])
    expect(t.fullSweep).toBe(false)
    expect(triggersOf({ computed: { property: 'days_inactive', op: 'gte', value: 30 } })).toMatchObject({
      anyEvent: true,
      fullSweep: true,
      timeDependent: true,
    })
    expect(
      triggersOf({ performed: { event: 'X', between: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' } } }).timeDependent,
    ).toBe(false)
  })
})

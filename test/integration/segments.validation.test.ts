import { describe, expect, it } from 'vitest'
import { admin, uid, useTestNudge } from '../helpers/harness.js'

const exists = { trait: { key: 'plan', op: 'exists' } }

/** validate, preview and create are one check: they refuse the same rules, naming the field and rule once. */
describe('segment rules: every route runs the same validation', () => {
  const fx = useTestNudge()

  const allThree = async (rule: unknown) => {
    const validate = await admin(`${fx.nudge.url}/api/segments/validate`, 'POST', { rule })
    const preview = await admin(`${fx.nudge.url}/api/segments/preview`, 'POST', { rule })
    const create = await admin(`${fx.nudge.url}/api/segments`, 'POST', { id: uid('s').toLowerCase(), name: 'S', rule })
    return { validate, preview, create }
  }

  it.each<[string, unknown, string, string]>([
    [
      'between over strings (the engine would get NaN)',
      { trait: { key: 'age', op: 'between', value: ['a', 'z'] } },
      'rule.trait.value',
      'between',
    ],
    [
      'between with one number',
      { performed: { event: 'E', where: [{ path: 'price', op: 'between', value: 5 }] } },
      'rule.performed.where[0].value',
      'between',
    ],
    ['gt over a word', { computed: { property: 'revenue', op: 'gt', value: 'lots' } }, 'rule.computed.value', 'type'],
    ['in over mixed types', { trait: { key: 'plan', op: 'in', value: [1, 'pro'] } }, 'rule.trait.value', 'type'],
    ['an and of 51 rules (the schema says at most 50)', { and: Array.from({ length: 51 }, () => exists) }, 'rule.and', 'max'],
    ['an or of 51 rules', { not: { or: Array.from({ length: 51 }, () => exists) } }, 'rule.not.or', 'max'],
    ['a malformed duration', { performed: { event: 'E', within: '7 days' } }, 'rule.performed.within', 'format'],
    ['a bare number (a duration needs its unit)', { performed: { event: 'E', within: 7 } }, 'rule.performed.within', 'unit'],
    [
      'a bare number as a sequence lookback',
      { sequence: { first: { event: 'A' }, then: { event: 'B' }, within: '1h', lookback: 30 } },
      'rule.sequence.lookback',
      'unit',
    ],
    ['a duration over ten years', { performed: { event: 'E', within: '600w' } }, 'rule.performed.within', 'max'],
  ])('%s → 400 at validate, preview and create, one issue naming the field and rule', async (_what, rule, path, ruleName) => {
    const { validate, preview, create } = await allThree(rule)
    for (const [route, res] of Object.entries({ validate, preview, create })) {
      expect(res.status, `${route}: ${JSON.stringify(res.json)}`).toBe(400)
      expect(res.json.error.issues, route).toEqual([expect.objectContaining({ path, rule: ruleName })])
    }
  })

  it('the limit /openapi.json publishes is the one enforced: 50 rules are accepted everywhere', async () => {
    const doc = (await (await fetch(`${fx.nudge.url}/openapi.json`)).json()) as any
    const and = doc.components.schemas.SegmentRule.anyOf.find((o: any) => o.properties?.and)
    expect(and.properties.and.maxItems).toBe(50)
    const { validate, preview, create } = await allThree({ and: Array.from({ length: 50 }, () => exists) })
    expect([validate.status, preview.status, create.status]).toEqual([200, 200, 201])
  })

  it('a good rule with numeric between is accepted by all three', async () => {
    const { validate, preview, create } = await allThree({
      and: [{ trait: { key: 'age', op: 'between', value: [25, 45] } }, { performed: { event: 'Viewed', within: '7d' } }],
    })
    expect([validate.status, preview.status, create.status]).toEqual([200, 200, 201])
  })
})

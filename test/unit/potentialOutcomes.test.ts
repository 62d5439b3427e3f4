import { describe, expect, it } from 'vitest'
import { reminderContentExperiment, reminderTimingExperiment } from '../../experiments/examples.js'
import { browseExperiment } from '../../journeys/examples.js'
import { demoPotentials, demoScenario, demoTruth } from '../../demo/demoScenario.js'
import { planSimulation } from '../../demo/simulator/model.js'
import { meanOver, potentialOutcomes } from '../../demo/simulator/potentialOutcomes.js'
import { parseScenario } from '../../demo/simulator/scenario.js'

/** Within four standard errors of a proportion: fails about once in 16,000 seeds. */
const near = (observed: number, expected: number, n: number) =>
  expect(Math.abs(observed - expected)).toBeLessThan(4 * Math.sqrt((expected * (1 - expected)) / n))

describe('potential outcomes: what each simulated shopper would do under every arm', () => {
  const s = parseScenario({ ...demoScenario({ seed: 5, shoppers: 20_000, minutesPerSecond: 6, testIds: ['qa-1'] }) })
  const plan = planSimulation(s, 'po')
  const users = potentialOutcomes(s, plan)
  const byId = new Map(plan.shoppers.map((sh) => [sh.profile.userId, sh]))
  const clean = users.filter((u) => {
    const carts = byId.get(u.userId)!.carts
    return (
      carts.length === 1 &&
      carts[0]!.kind === 'abandoned' &&
      carts[0]!.races.filter((r) => r === 'purchaseBeforeReminder' || r === 'optOutMidJourney').length === 0
    )
  })

  it('a clean abandoned cart converts at the base rate without a reminder and base + lift with one', () => {
    expect(clean.length).toBeGreaterThan(10_000)
    const base = s.effects.baseConversion
    near(
      meanOver(clean, (u) => u.conversion(undefined)),
      base,
      clean.length,
    )
    for (const arm of s.effects.reminderArms)
      near(
        meanOver(clean, (u) => u.conversion(arm.name)),
        base + arm.lift,
        clean.length,
      )
    // The same person answers the same way: whoever buys after a 1 h reminder buys after a 15 min one.
    for (const u of clean) expect(u.conversion('m15')).toBeGreaterThanOrEqual(u.conversion('h1'))
  })

  it('content changes what a clicked reminder sells, not whether, and nothing without a reminder', () => {
    for (const u of clean.slice(0, 2000)) {
      expect(u.revenue(undefined, 1.8)).toBe(u.revenue(undefined, 1))
      expect(u.revenue('m15', 1.8)).toBeGreaterThanOrEqual(u.revenue('m15', 1))
      if (u.revenue('m15', 1.8) > u.revenue('m15', 1)) expect(u.revenue('m15', 1.8)).toBeCloseTo(u.revenue('m15', 1) * 1.8, 6)
    }
    expect(clean.some((u) => u.revenue('m15', 1.8) > u.revenue('m15', 1))).toBe(true)
  })

  it('carts bought in session convert in every arm; test accounts and shoppers without a cart are not exposed', () => {
    const checkout = users.filter((u) => byId.get(u.userId)!.carts.some((c) => c.kind === 'checkout'))
    expect(checkout.length).toBeGreaterThan(0)
    for (const u of checkout) for (const arm of [undefined, 'h1', 'm15']) expect(u.conversion(arm)).toBe(1)
    expect(users.some((u) => byId.get(u.userId)!.profile.test)).toBe(false)
    for (const u of users) expect(u.exposed).toBe(byId.get(u.userId)!.carts.some((c) => c.kind !== 'stale'))
  })

  const variantOf = (experiment: string, userId: string) => {
    const h = [...`${experiment}:${userId}`].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7) % 10
    return experiment === reminderTimingExperiment.key
      ? h < 4
        ? 'h1'
        : h < 8
          ? 'm15'
          : 'holdout'
      : experiment === browseExperiment.key
        ? h < 5
          ? 'offer'
          : 'proof'
        : h < 5
          ? 'default'
          : 'urgency'
  }

  it('a viewer gets the browse mail only when they bought no cart under that arm; it and the loyalty mail add to every arm alike', () => {
    const full = new Map(demoPotentials(s, plan, variantOf).map((u) => [u.userId, u]))
    let browsedOnlyWithout = 0
    for (const u of users.slice(0, 5000)) {
      const f = full.get(u.userId)!
      const sh = byId.get(u.userId)!
      for (const arm of [undefined, 'h1', 'm15']) {
        expect(f.browseExposed(arm)).toBe(f.viewed && u.conversion(arm) === 0)
        const browse = f.browseExposed(arm) ? f.mail(variantOf(browseExperiment.key, u.userId)) : { bought: false, revenue: 0 }
        const loyalty = sh.returnVisit !== undefined ? f.mail('loyalty') : { bought: false, revenue: 0 }
        expect(f.conversion(arm)).toBe(u.conversion(arm) || browse.bought || loyalty.bought ? 1 : 0)
        expect(f.revenue(arm, 2)).toBeCloseTo(u.revenue(arm, 2) + browse.revenue + loyalty.revenue, 6)
      }
      if (f.browseExposed(undefined) && !f.browseExposed('m15')) browsedOnlyWithout++
    }
    // A reminder that sells the cart takes the shopper out of browse abandonment.
    expect(browsedOnlyWithout).toBeGreaterThan(100)
    // Readers and lapsed shoppers: no product view, no cart, in no experiment.
    for (const sh of plan.shoppers.filter((x) => x.persona && !x.profile.test))
      expect([full.get(sh.profile.userId)!.viewed, full.get(sh.profile.userId)!.exposed]).toEqual([false, false])
    // Everyone who bought in session comes back once in the demo: a loyalty mail, answered by their own draws.
    const back = plan.shoppers.filter((x) => x.returnVisit !== undefined && !x.profile.test)
    expect(back.length).toBeGreaterThan(1000)
    near(
      meanOver(back, (x) => (full.get(x.profile.userId)!.mail('loyalty').bought ? 1 : 0)),
      s.engagement.open * s.engagement.clickGivenOpen * 0.5,
      back.length,
    )
  })

  it('the demo truth: sooner beats later, the holdout loses, urgency raises revenue and leaves conversion alone, the offer beats social proof', () => {
    const truth = demoTruth(s, plan, variantOf)
    const timing = truth[reminderTimingExperiment.key]!
    const content = truth[reminderContentExperiment.key]!
    expect(timing.conversion!.m15).toBeGreaterThan(0.3)
    // (The browse offer sells to some of those a reminder would have: the holdout loses less than the reminders win.)
    expect(timing.conversion!.holdout).toBeLessThan(-0.15)
    expect(timing.revenue!.m15).toBeGreaterThan(0.2)
    expect(content.conversion!.urgency).toBe(0)
    // Urgency multiplies the revenue of clicked reminders — most, not all, of reminded revenue.
    const m = s.effects.contentVariants.find((v) => v.name === 'urgency')!.revenueMultiplier
    expect(content.revenue!.urgency).toBeGreaterThan((m - 1) / 2)
    expect(content.revenue!.urgency).toBeLessThan(m - 1)
    // Proof sells 0.2 / 0.5 of what the offer does after a click, on the same viewers.
    const browse = truth[browseExperiment.key]!
    expect(browse.conversion!.proof).toBeGreaterThan(-0.6 - 0.1)
    expect(browse.conversion!.proof).toBeLessThan(-0.6 + 0.1)
  })
})

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { admin, useTestNudge } from '../helpers/harness.js'
import { trackRow } from '../helpers/rows.js'

/**
 * The stats engine over HTTP ("bring your own aggregates") and an experiment's results computed
 * from stored exposures and events, through the real API and engine.
 */
const DAY = 86_400_000
/** The scipy references (scripts/stats/reference_tools.py). */
const tools = JSON.parse(readFileSync(new URL('../fixtures/stats/tools.json', import.meta.url), 'utf8')) as {
  power: {
    request: { metric: { type: string; conversionRate?: number; mean?: number }; totalUnits: number; arms: number; sequential?: unknown }
    mde: number | null
  }[]
}

describe('stats API and experiment results', () => {
  const fx = useTestNudge({ role: 'api', env: { LOG_LEVEL: 'warn', TEST_USER_IDS: 'qa-1' } })
  const base = () => fx.nudge.url!

  it('POST /api/stats/analyze: the contract — control first, one comparison per other arm; invalid aggregates are 400s naming the field', async () => {
    const ok = await admin(`${base()}/api/stats/analyze`, 'POST', {
      metric: { type: 'binomial' },
      engine: 'frequentist',
      differenceType: 'relative',
      arms: [
        { name: 'control', n: 1000, sum: 100 },
        { name: 'a', n: 1000, sum: 130 },
        { name: 'b', n: 1000, sum: 90 },
      ],
    })
    expect(ok.status).toBe(200)
    expect(ok.json.arms.map((a: { name: string }) => a.name)).toEqual(['control', 'a', 'b'])
    expect(ok.json.arms[0]).toMatchObject({ n: 1000, mean: 0.1 })
    expect(ok.json.comparisons.map((c: { arm: string }) => c.arm)).toEqual(['a', 'b'])
    expect(ok.json.comparisons[0].effect).toBeCloseTo(0.3, 10)
    expect(ok.json.comparisons[0].ci[0]).toBeLessThan(0.3)
    expect(ok.json.comparisons[0].pValue).toBeGreaterThan(0)
    const bayes = await admin(`${base()}/api/stats/analyze`, 'POST', {
      metric: { type: 'mean' },
      engine: 'bayesian',
      differenceType: 'absolute',
      alternative: 'two-sided',
      arms: [
        { name: 'c', n: 100, sum: 500, sumSquares: 2900 },
        { name: 't', n: 100, sum: 560, sumSquares: 3500 },
      ],
    })
    expect(bayes.json.comparisons[0].chanceToWin).toBeGreaterThan(0.5)
    expect(bayes.json.comparisons[0].risk).toHaveLength(2)
    const oneSided = await admin(`${base()}/api/stats/analyze`, 'POST', {
      metric: { type: 'mean' },
      engine: 'frequentist',
      differenceType: 'absolute',
      alternative: 'greater',
      arms: [
        { name: 'c', n: 100, sum: 500, sumSquares: 2900 },
        { name: 't', n: 100, sum: 560, sumSquares: 3500 },
      ],
    })
    expect(oneSided.json.comparisons[0].ci[1]).toBeNull()

    for (const [body, field] of [
      [
        {
          metric: { type: 'mean' },
          engine: 'frequentist',
          differenceType: 'relative',
          arms: [
            { name: 'c', n: 1, sum: 1, sumSquares: 1 },
            { name: 't', n: 10, sum: 1, sumSquares: 1 },
          ],
        },
        'arms[0].n',
      ],
      [
        {
          metric: { type: 'mean' },
          engine: 'frequentist',
          differenceType: 'relative',
          arms: [
            { name: 'c', n: 10, sum: 1 },
            { name: 't', n: 10, sum: 1, sumSquares: 1 },
          ],
        },
        'arms[0].sumSquares',
      ],
      [
        {
          metric: { type: 'ratio' },
          engine: 'frequentist',
          differenceType: 'relative',
          arms: [
            { name: 'c', n: 10, sum: 1, sumSquares: 1 },
            { name: 't', n: 10, sum: 1, sumSquares: 1 },
          ],
        },
        'arms[0].denominatorSum',
      ],
    ] as const) {
      const res = await admin(`${base()}/api/stats/analyze`, 'POST', body)
      expect(res.status, field).toBe(400)
      expect(
        res.json.error.issues.map((i: { path: string }) => i.path),
        field,
      ).toContain(field)
    }
    // Degenerate: no variance anywhere → explicit flags, and nothing that is not JSON.
    const flat = await admin(`${base()}/api/stats/analyze`, 'POST', {
      metric: { type: 'mean' },
      engine: 'frequentist',
      differenceType: 'relative',
      arms: [
        { name: 'c', n: 10, sum: 10, sumSquares: 10 },
        { name: 't', n: 10, sum: 10, sumSquares: 10 },
      ],
    })
    expect(flat.status).toBe(200)
    expect(JSON.stringify(flat.json)).not.toMatch(/NaN|Infinity/)
    expect(JSON.stringify(flat.json)).toContain('zero_variance')
  })

  it('POST /api/stats/analyze: proportions carry the population variance p(1 − p) (n ≈ 30, as GrowthBook)', async () => {
    const res = await admin(`${base()}/api/stats/analyze`, 'POST', {
      metric: { type: 'binomial' },
      engine: 'frequentist',
      differenceType: 'relative',
      arms: [
        { name: 'control', n: 28, sum: 7 },
        { name: 'treatment', n: 30, sum: 12 },
      ],
    })
    expect(res.status).toBe(200)
    const [pC, pT] = [0.25, 0.4]
    expect(res.json.arms[0].stdDev).toBeCloseTo(Math.sqrt(pC * (1 - pC)), 14)
    expect(res.json.comparisons[0].stdErr).toBeCloseTo(
      Math.sqrt((pT * (1 - pT)) / (pC * pC * 30) + (pC * (1 - pC) * pT * pT) / (pC ** 4 * 28)),
      14,
    )
  })

  it('POST /api/stats/srm: a zero-weight arm is left out (p = 2.0079e-5, not 0) and its units come back as a warning', async () => {
    const res = await admin(`${base()}/api/stats/srm`, 'POST', { observed: [1000, 1200, 900], weights: [0.5, 0.5, 0] })
    expect(res.status).toBe(200)
    expect(Math.abs(res.json.pValue - 2.0079e-5)).toBeLessThanOrEqual(1e-9)
    expect(res.json.chiSquare).toBeCloseTo(200 / 11, 10)
    expect(res.json.flagged).toBe(true)
    expect(res.json.warnings).toEqual([{ code: 'units_in_zero_weight_arm', arm: 2, units: 900, message: expect.any(String) }])
    expect((await admin(`${base()}/api/stats/srm`, 'POST', { observed: [1000, 1000], weights: [0.5, 0.5] })).json.warnings).toEqual([])
  })

  it('POST /api/stats/power: the MDE agrees with the scipy reference to 1e-6 relative (GrowthBook scenarios: 0.24505 fixed, 4.33868 sequential)', async () => {
    const fixed = tools.power.find(
      (c) => c.request.metric.conversionRate === 0.1 && c.request.totalUnits === 9000 && c.request.arms === 3 && !c.request.sequential,
    )!
    const sequential = tools.power.find(
      (c) => c.request.metric.mean === 0.1 && c.request.totalUnits === 4500 && c.request.arms === 3 && c.request.sequential,
    )!
    for (const [c, rounded] of [
      [fixed, '0.24505'],
      [sequential, '4.33868'],
    ] as const) {
      const res = await admin(`${base()}/api/stats/power`, 'POST', c.request)
      expect(res.status).toBe(200)
      expect(Math.abs(res.json.mde - c.mde!) / c.mde!).toBeLessThanOrEqual(1e-6)
      expect(res.json.mde.toFixed(5)).toBe(rounded)
    }
  })

  it('srm, adjust and power endpoints', async () => {
    const srm = await admin(`${base()}/api/stats/srm`, 'POST', { observed: [51_000, 49_000], weights: [0.5, 0.5] })
    expect(srm.json).toMatchObject({ flagged: true })
    expect(srm.json.chiSquare).toBeCloseTo(40, 8)
    expect((await admin(`${base()}/api/stats/srm`, 'POST', { observed: [50_010, 49_990], weights: [0.5, 0.5] })).json.flagged).toBe(false)
    expect((await admin(`${base()}/api/stats/srm`, 'POST', { observed: [1, 2], weights: [0.5] })).status).toBe(400)
    const adj = await admin(`${base()}/api/stats/adjust`, 'POST', { pValues: [0.04, 0.01, 0.03], method: 'holm' })
    expect(adj.json.adjusted[1]).toBeCloseTo(0.03, 12)
    expect(adj.json.adjusted[0]).toBeCloseTo(0.06, 12)
    const pw = await admin(`${base()}/api/stats/power`, 'POST', {
      metric: { type: 'binomial', conversionRate: 0.1 },
      totalUnits: 20_000,
      arms: 2,
      effect: 0.1,
    })
    expect(pw.json.power).toBeGreaterThan(0.5)
    expect(pw.json.mde).toBeGreaterThan(0)
    expect(
      (
        await admin(`${base()}/api/stats/power`, 'POST', {
          metric: { type: 'binomial', conversionRate: 2 },
          totalUnits: 100,
          arms: 2,
          effect: 0.1,
        })
      ).status,
    ).toBe(400)
  })

  it('GET /api/experiments/:key/results: from stored exposures and events — the known lift, SRM, guardrail, decision, daily series; test accounts left out', async () => {
    const key = `res-${Date.now().toString(36)}`
    const created = await admin(`${base()}/api/experiments`, 'POST', {
      key,
      name: 'results',
      variants: [
        { key: 'control', weight: 0.5 },
        { key: 'treatment', weight: 0.5 },
      ],
      primaryMetric: { event: `Purchase ${key}`, kind: 'conversion', windowDays: 7 },
      secondaryMetrics: [{ event: `Purchase ${key}`, kind: 'sum', property: 'revenue', windowDays: 7 }],
      guardrailMetrics: [{ event: `Unsub ${key}`, kind: 'conversion', windowDays: 7, inverse: true }],
    })
    expect(created.status).toBe(201)
    expect((await admin(`${base()}/api/experiments/${key}/start`, 'POST')).status).toBe(200)
    const now = Date.now()
    const exposures: Record<string, unknown>[] = []
    const events: Record<string, unknown>[] = []
    // 3,000 units per arm over 5 days: control converts 20 %, treatment 26 %; a test account converts always.
    for (let i = 0; i < 6000; i++) {
      const unit = `${key}-u${i}`
      const variant = i % 2 ? 'treatment' : 'control'
      const at = now - 5 * DAY + (i % 5) * DAY + (i % 97) * 60_000
      exposures.push({ experiment_key: key, unit, variant, first_at: at, context: '{}', rank: 1e15 - at })
      const rate = variant === 'control' ? 0.2 : 0.26
      if ((i * 7919) % 1000 < rate * 1000)
        events.push(
          trackRow({ message_id: `${unit}-p`, user: unit, event: `Purchase ${key}`, at: at + 3_600_000, properties: { revenue: 40 } }),
        )
      if (i % 50 === 0) events.push(trackRow({ message_id: `${unit}-u`, user: unit, event: `Unsub ${key}`, at: at + 1000 }))
    }
    exposures.push({ experiment_key: key, unit: 'qa-1', variant: 'treatment', first_at: now - DAY, context: '{}', rank: 1 })
    events.push(
      trackRow({
        message_id: `qa-${key}`,
        user: 'qa-1',
        event: `Purchase ${key}`,
        at: now - DAY + 1000,
        received_at: now,
        properties: { revenue: 99999 },
      }),
    )
    await fx.nudge.store.client.insert({ table: 'experiment_exposures', format: 'JSONEachRow', values: exposures })
    await fx.nudge.store.client.insert({ table: 'events', format: 'JSONEachRow', values: events })

    const res = await admin(`${base()}/api/experiments/${key}/results`)
    expect(res.status).toBe(200)
    const r = res.json
    expect(r.units).toEqual({ control: 3000, treatment: 3000 }) // qa-1 left out
    expect(r.srm.flagged).toBe(false)
    const [primary, revenue, guardrail] = r.metrics
    expect(primary.arms.map((a: { mean: number }) => a.mean)).toEqual([0.2, 0.26])
    expect(primary.comparisons[0].effect).toBeCloseTo(0.3, 10)
    // the results service passes the conversion metric as binomial: p(1 − p), as the engine over HTTP
    expect(primary.arms[0].stdDev).toBeCloseTo(Math.sqrt(0.2 * 0.8), 12)
    expect(primary.comparisons[0].stdErr).toBeCloseTo(
      Math.sqrt((0.26 * 0.74) / (0.04 * 3000) + (0.16 * 0.26 * 0.26) / (0.2 ** 4 * 3000)),
      12,
    )
    expect(primary.comparisons[0].direction).toBe('better')
    expect(primary.comparisons[0].adjustedPValue).toBeGreaterThanOrEqual(primary.comparisons[0].pValue)
    const [lo, hi] = primary.comparisons[0].adjustedCi
    expect(lo).toBeLessThanOrEqual(primary.comparisons[0].ci[0]) // never narrower than the raw interval
    expect(hi).toBeGreaterThanOrEqual(primary.comparisons[0].ci[1])
    expect(lo > 0).toBe(primary.comparisons[0].adjustedPValue < 0.05)
    expect(revenue.arms[1].mean).toBeCloseTo(0.26 * 40, 10)
    expect(guardrail.role).toBe('guardrail')
    expect(guardrail.comparisons[0].direction).toBe('flat')
    expect(r.decision).toMatchObject({ hint: 'ship', arm: 'treatment' })
    expect(r.warnings.map((w: { code: string }) => w.code)).toContain('peeking')
    expect(r.power.neededUnits).toBeGreaterThan(0)
    expect(r.overTime.length).toBeGreaterThanOrEqual(5)
    const lastDay = r.overTime[r.overTime.length - 1]
    expect(lastDay.units).toEqual({ control: 3000, treatment: 3000 })
    expect(lastDay.comparisons[0].effect).toBeCloseTo(0.3, 10)
    expect((await admin(`${base()}/api/experiments/nope/results`)).status).toBe(404)
  })

  it('GET /api/experiments/:key/results: a zero-weight variant with units is left out of SRM and named in a warning', async () => {
    const key = `zw-${Date.now().toString(36)}`
    const created = await admin(`${base()}/api/experiments`, 'POST', {
      key,
      name: 'zero weight',
      variants: [
        { key: 'control', weight: 0.5 },
        { key: 'treatment', weight: 0.5 },
        { key: 'retired', weight: 0 },
      ],
      primaryMetric: { event: `Purchase ${key}`, kind: 'conversion', windowDays: 7 },
    })
    expect(created.status).toBe(201)
    expect((await admin(`${base()}/api/experiments/${key}/start`, 'POST')).status).toBe(200)
    const now = Date.now()
    const counts = { control: 1000, treatment: 1200, retired: 900 }
    const exposures = Object.entries(counts).flatMap(([variant, n]) =>
      Array.from({ length: n }, (_, i) => ({
        experiment_key: key,
        unit: `${key}-${variant}-${i}`,
        variant,
        first_at: now - DAY + i,
        context: '{}',
        rank: 1e15 - i,
      })),
    )
    await fx.nudge.store.client.insert({ table: 'experiment_exposures', format: 'JSONEachRow', values: exposures })
    const r = (await admin(`${base()}/api/experiments/${key}/results?overTime=false`)).json
    expect(r.units).toEqual(counts)
    expect(Math.abs(r.srm.pValue - 2.0079e-5)).toBeLessThanOrEqual(1e-9)
    expect(r.warnings.map((w: { code: string }) => w.code)).toEqual(expect.arrayContaining(['srm', 'units_in_zero_weight_arm']))
    expect(r.warnings.find((w: { code: string }) => w.code === 'units_in_zero_weight_arm').message).toMatch(/retired.*900/)
  })

  it('GET /api/reports/holdout: conversion and revenue per recipient, global holdout vs mailed, per journey and overall', async () => {
    const j = `hj-${Date.now().toString(36)}`
    const now = Date.now()
    const runs: Record<string, unknown>[] = []
    const steps: Record<string, unknown>[] = []
    const events: Record<string, unknown>[] = []
    for (let i = 0; i < 2000; i++) {
      const user = `${j}-u${i}`
      const held = i % 4 === 0 // a quarter held out
      const at = now - 3 * DAY + i * 1000
      runs.push({
        workflow_id: `w-${user}`,
        journey_id: j,
        journey_version: 1,
        user_key: user,
        correlation: '',
        phase: 'started',
        outcome: '',
        trigger_message_id: `t-${user}`,
        trigger_event: 'X',
        trigger_at: at,
        received_at: at,
        at,
        is_test: 0,
      })
      if (held)
        steps.push({
          workflow_id: `w-${user}`,
          journey_id: j,
          journey_version: 1,
          user_key: user,
          step_id: 'mail',
          step_type: 'send',
          outcome: 'skipped',
          reason: 'global_holdout',
          scheduled_at: at,
          at,
          experiment_key: '',
          variant: '',
          flags: '{}',
          message_id: '',
          is_test: 0,
        })
      // Held-out users buy 10 % of the time, mailed ones 20 %; each purchase is 50.
      const k = held ? i / 4 : i - Math.floor(i / 4) - 1 // index within its group
      if (held ? k % 10 === 0 : k % 5 === 0)
        events.push(trackRow({ message_id: `o-${user}`, user, event: 'Order Completed', at: at + 3_600_000, properties: { revenue: 50 } }))
    }
    await fx.nudge.store.client.insert({ table: 'journey_runs', format: 'JSONEachRow', values: runs })
    await fx.nudge.store.client.insert({ table: 'journey_steps', format: 'JSONEachRow', values: steps })
    await fx.nudge.store.client.insert({ table: 'events', format: 'JSONEachRow', values: events })
    const res = await admin(`${base()}/api/reports/holdout`)
    expect(res.status).toBe(200)
    const row = res.json.journeys.find((r: { journey: string }) => r.journey === j)
    expect(row.recipients).toEqual({ holdout: 500, mailed: 1500 })
    expect(row.conversionPerRecipient.holdout).toBeCloseTo(0.1, 10)
    expect(row.conversionPerRecipient.mailed).toBeCloseTo(0.2, 10)
    expect(row.conversionPerRecipient.lift).toBeCloseTo(1, 10)
    expect(row.conversionPerRecipient.ci[0]).toBeGreaterThan(0)
    expect(row.revenuePerRecipient.mailed).toBeCloseTo(10, 10)
    expect(res.json.overall.recipients.holdout).toBeGreaterThanOrEqual(500)
  })
})

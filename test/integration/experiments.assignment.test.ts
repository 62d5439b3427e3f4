import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Store, selectRows } from '../../clickhouse/store.js'
import { type AssignContext, assign, explainAssignment, variantRanges } from '../../experiments/assign.js'
import type { Experiment, ExperimentDefinition } from '../../experiments/experimentSchema.js'
import { experimentDefinition } from '../../experiments/experimentSchema.js'
import { bucketOf, bucketSql, murmur3 } from '../../experiments/hash.js'
import { tempDataDir } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'

const N = 100_000
const units = Array.from({ length: N }, (_, i) => (i % 10 === 0 ? `usér-${i}-ü` : `user-${i}`))

const definition = (over: Partial<ExperimentDefinition> & Record<string, unknown> = {}): ExperimentDefinition =>
  experimentDefinition.parse({
    key: 'cart-reminder-timing',
    name: 'Reminder timing',
    variants: [
      { key: 'control', weight: 0.5 },
      { key: 'fast', weight: 0.3 },
      { key: 'holdout', weight: 0.2, holdout: true },
    ],
    primaryMetric: { event: 'Order Completed' },
    ...over,
  })
const running = (d: ExperimentDefinition): Experiment => ({ definition: d, status: 'running', version: 1, updatedAt: 0 })
const ctx: AssignContext = { now: Date.parse('2026-06-01T00:00:00Z'), globalHoldout: 0, isMember: () => true }

/** Pearson chi-square p-value of observed counts against expected shares. */
function chiSquareP(observed: number[], shares: number[]): number {
  const total = observed.reduce((a, b) => a + b, 0)
  const stat = observed.reduce((s, o, i) => s + (o - total * shares[i]!) ** 2 / (total * shares[i]!), 0)
  return 1 - chisquareCdf(stat, observed.length - 1)
}

describe('one hash everywhere: TypeScript and ClickHouse agree', () => {
  const data = tempDataDir()
  let store: Store
  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
  })
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  it(`murmurHash3_32 and the bucket are identical for ${N.toLocaleString('en')} ids (ASCII and not)`, async () => {
    const rows = await selectRows<{ h: number; b: number }>(
      store.client,
      `SELECT murmurHash3_32(concat({key:String}, ':', u)) AS h, ${bucketSql('{key:String}', 'u')} AS b FROM (SELECT arrayJoin({units:Array(String)}) AS u)`,
      { key: 'cart-reminder-timing', units },
    )
    expect(rows).toHaveLength(N)
    let mismatches = 0
    rows.forEach((r, i) => {
      if (Number(r.h) !== murmur3(`cart-reminder-timing:${units[i]}`) || Number(r.b) !== bucketOf('cart-reminder-timing', units[i]!))
        mismatches++
    })
    expect(mismatches).toBe(0)
  })

  it('variant shares match the weights (chi-square), also when computed in SQL', async () => {
    const d = definition()
    const counts = new Map<string, number>()
    for (const u of units) {
      const a = assign(running(d), u, ctx)
      counts.set(a.variant!, (counts.get(a.variant!) ?? 0) + 1)
    }
    const observed = d.variants.map((v) => counts.get(v.key) ?? 0)
    expect(observed.reduce((a, b) => a + b, 0)).toBe(N)
    expect(chiSquareP(observed, [0.5, 0.3, 0.2])).toBeGreaterThan(0.001)
    // A deliberately wrong expectation is rejected: the check has power.
    expect(chiSquareP(observed, [0.45, 0.35, 0.2])).toBeLessThan(1e-6)

    const ranges = variantRanges(d.variants, d.traffic)
    const [sql] = await selectRows<{ c: number[] }>(
      store.client,
      `SELECT [countIf(b < {r1:Float64}), countIf(b >= {r1:Float64} AND b < {r2:Float64}), countIf(b >= {r2:Float64})] AS c
       FROM (SELECT ${bucketSql('{key:String}', 'u')} AS b FROM (SELECT arrayJoin({units:Array(String)}) AS u))`,
      { key: d.key, units, r1: ranges[0]![1], r2: ranges[1]![1] },
    )
    expect(sql!.c.map(Number)).toEqual(observed)
  })
})

describe('assignment rules (pure)', () => {
  it('is sticky: the same unit gets the same variant every time, in any order', () => {
    const e = running(definition())
    const first = units.slice(0, 1000).map((u) => assign(e, u, ctx).variant)
    const again = [...units.slice(0, 1000)]
      .reverse()
      .map((u) => assign(e, u, ctx).variant)
      .reverse()
    expect(again).toEqual(first)
  })

  it('raising traffic keeps everyone already in where they were', () => {
    const low = running(definition({ traffic: 0.2 }))
    const high = running(definition({ traffic: 0.8 }))
    let inLow = 0
    for (const u of units.slice(0, 20_000)) {
      const a = assign(low, u, ctx)
      if (!a.inExperiment) {
        expect(a.reason).toBe('outside_traffic')
        continue
      }
      inLow++
      expect(assign(high, u, ctx).variant).toBe(a.variant)
    }
    expect(inLow / 20_000).toBeGreaterThan(0.18)
    expect(inLow / 20_000).toBeLessThan(0.22)
  })

  it('two experiments in one layer, on disjoint parts, never share a unit', () => {
    const a = running(definition({ key: 'subject-test', layer: { id: 'cart-step', range: [0, 0.5] } }))
    const b = running(definition({ key: 'timing-test', layer: { id: 'cart-step', range: [0.5, 1] } }))
    let both = 0
    let inA = 0
    let inB = 0
    for (const u of units.slice(0, 20_000)) {
      const x = assign(a, u, ctx).inExperiment
      const y = assign(b, u, ctx).inExperiment
      if (x) inA++
      if (y) inB++
      if (x && y) both++
    }
    expect(both).toBe(0)
    expect(inA + inB).toBe(20_000)
    expect(Math.abs(inA - inB) / 20_000).toBeLessThan(0.03)
  })

  it('explains status, schedule, targeting, global holdout and roll-out', () => {
    const d = definition({ schedule: { start: '2026-07-01T00:00:00Z' }, targeting: { segment: 'cart-abandoned' } })
    expect(assign({ ...running(d), status: 'draft' }, 'u1', ctx)).toMatchObject({
      inExperiment: false,
      variant: null,
      reason: 'not_running',
    })
    expect(assign(running(d), 'u1', ctx)).toMatchObject({ reason: 'not_started' })
    const started = { ...ctx, now: Date.parse('2026-07-02T00:00:00Z') }
    const untargeted = assign(running(d), 'u1', { ...started, isMember: () => false })
    expect(untargeted).toMatchObject({ reason: 'not_targeted', inExperiment: false })
    expect(explainAssignment(running(d), untargeted, 0)).toBe('not in segment "cart-abandoned"')
    const a = assign(running(d), 'u1', started)
    expect(explainAssignment(running(d), a, 0)).toMatch(new RegExp(`^bucket ${a.bucket.toFixed(4)} is in \\[.*\\) → "${a.variant}"`))
    expect(assign(running(d), 'u1', started)).toMatchObject({ reason: 'assigned', inExperiment: true })
    const rolled = { ...running(d), status: 'rolled_out' as const, rolledOut: 'fast' }
    expect(assign(rolled, 'u1', ctx)).toMatchObject({ variant: 'fast', inExperiment: false, reason: 'rolled_out' })
    // A tenth held out of everything: about that share, and they are out of every experiment.
    const held = units
      .slice(0, 20_000)
      .filter((u) => assign(running(definition()), u, { ...ctx, globalHoldout: 0.1 }).reason === 'global_holdout').length
    expect(held / 20_000).toBeGreaterThan(0.09)
    expect(held / 20_000).toBeLessThan(0.11)
    const holdoutArm = units
      .slice(0, 1000)
      .map((u) => assign(running(definition()), u, ctx))
      .filter((a) => a.variant === 'holdout')
    expect(holdoutArm.length).toBeGreaterThan(0)
    expect(holdoutArm.every((a) => a.holdout && a.inExperiment)).toBe(true)
  })
})

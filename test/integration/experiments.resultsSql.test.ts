import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../clickhouse/store.js'
import type { Metric } from '../../experiments/experimentSchema.js'
import { loadArmStats, loadDaily } from '../../analytics/results/armStats.js'
import { tempDataDir } from '../helpers/harness.js'
import { trackRow } from '../helpers/rows.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * The SQL that turns stored exposures and events into the engine's sufficient statistics, checked
 * against the same numbers computed by hand from a seeded population (injected "now").
 */
const DAY = 86_400_000
const NOW = Date.parse('2026-06-30T12:00:00.000Z')
const START = NOW - 10 * DAY

function rng(seed: number) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}

interface Unit {
  unit: string
  variant: string
  firstAt: number
  orders: { at: number; revenue: number }[]
  pre: { at: number; revenue: number }[]
}
const r = rng(42)
const units: Unit[] = Array.from({ length: 400 }, (_, i) => {
  const firstAt = START + Math.floor(r() * 8 * DAY)
  const variant = i % 2 ? 'treatment' : 'control'
  const orders = Array.from({ length: Math.floor(r() * 3) }, () => ({
    at: firstAt + Math.floor(r() * 12 * DAY) - DAY,
    revenue: Math.round(r() * 100 * (i === 7 ? 50 : 1)),
  }))
  const pre = Array.from({ length: Math.floor(r() * 2) }, () => ({
    at: firstAt - Math.floor(r() * 13 * DAY) - 1,
    revenue: Math.round(r() * 80),
  }))
  return { unit: `u${i}`, variant, firstAt, orders, pre }
})
const testUnit: Unit = { unit: 'qa-1', variant: 'treatment', firstAt: START, orders: [{ at: START + 1000, revenue: 10_000 }], pre: [] }

function expected(metric: Metric, opts: { until: number; preDays?: number; cap?: number }) {
  const win = metric.windowDays * DAY
  const value = (u: Unit, from: number, to: number, list: { at: number; revenue: number }[]) => {
    const inside = list.filter((o) => o.at >= from && o.at < to)
    return metric.kind === 'conversion'
      ? inside.length
        ? 1
        : 0
      : metric.kind === 'count'
        ? inside.length
        : inside.reduce((a, o) => a + o.revenue, 0)
  }
  const rows = units
    .filter((u) => u.firstAt <= opts.until)
    .map((u) => ({
      variant: u.variant,
      y: value(u, u.firstAt, Math.min(u.firstAt + win, opts.until), u.orders.concat(u.pre)),
      x: opts.preDays ? value(u, u.firstAt - opts.preDays * DAY, u.firstAt, u.orders.concat(u.pre)) : 0,
    }))
  let cap = Infinity
  if (opts.cap !== undefined) {
    const ys = rows.map((x) => x.y).sort((a, b) => a - b)
    // ClickHouse's quantileExact: the element at ⌊level·n⌋ of the sorted values.
    cap = ys[Math.min(ys.length - 1, Math.floor(opts.cap * ys.length))]!
  }
  const out: Record<string, { n: number; sum: number; sumSquares: number; xs: number; xss: number; xy: number }> = {}
  for (const row of rows) {
    const y = Math.min(row.y, cap)
    const a = (out[row.variant] ??= { n: 0, sum: 0, sumSquares: 0, xs: 0, xss: 0, xy: 0 })
    a.n++
    a.sum += y
    a.sumSquares += y * y
    a.xs += row.x
    a.xss += row.x * row.x
    a.xy += row.x * y
  }
  return out
}

describe('experiment results SQL: sufficient statistics per arm', () => {
  const data = tempDataDir()
  let store: Store
  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    const all = [...units, testUnit]
    await store.client.insert({
      table: 'experiment_exposures',
      format: 'JSONEachRow',
      values: all.flatMap((u) => [
        { experiment_key: 'exp', unit: u.unit, variant: u.variant, first_at: u.firstAt, context: '{}', rank: 1e15 - u.firstAt },
        // A repeat exposure later (another process): the first one counts.
        { experiment_key: 'exp', unit: u.unit, variant: u.variant, first_at: u.firstAt + DAY, context: '{}', rank: 1e15 - u.firstAt - DAY },
      ]),
    })
    let m = 0
    await store.client.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: all.flatMap((u) =>
        u.orders
          .concat(u.pre)
          .map((o) =>
            trackRow({ message_id: `m${m++}`, user: u.unit, event: 'Order Completed', at: o.at, properties: { revenue: o.revenue } }),
          ),
      ),
    })
  })
  afterAll(async () => {
    await store.close()
    data.remove()
  })

  const run = async (metric: Metric, opts: { until: number; preDays?: number }) => {
    // With a second metric alongside: every metric is computed in the same pass.
    const q = {
      key: 'exp',
      metrics: [metric, { ...metric, event: 'Never Happens' }],
      until: opts.until,
      testUsers: ['qa-1'],
      ...(opts.preDays ? { cupedPreDays: opts.preDays } : {}),
    }
    const got = await loadArmStats(store.client, q)
    expect([...got.metrics[1]!.values()].every((a) => a.sum === 0)).toBe(true)
    return Object.fromEntries(
      [...got.metrics[0]!].map(([arm, a]) => [
        arm,
        { n: a.n, sum: a.sum, sumSquares: a.sumSquares, xs: a.covariateSum, xss: a.covariateSumSquares, xy: a.sumProductCovariate },
      ]),
    )
  }
  const metric = (m: Partial<Metric>): Metric =>
    ({ event: 'Order Completed', kind: 'conversion', windowDays: 7, inverse: false, ...m }) as Metric

  it.each([
    ['conversion', metric({ kind: 'conversion' })],
    ['count', metric({ kind: 'count', windowDays: 3 })],
    ['sum of revenue', metric({ kind: 'sum', property: 'revenue' })],
  ])('%s within the window after first exposure; test accounts left out', async (_name, m) => {
    expect(await run(m, { until: NOW })).toEqual(expected(m, { until: NOW }))
  })

  it('at an earlier cut-off only units exposed by then count, with what they did by then', async () => {
    const m = metric({ kind: 'sum', property: 'revenue' })
    expect(await run(m, { until: START + 4 * DAY })).toEqual(expected(m, { until: START + 4 * DAY }))
  })

  it('CUPED: the same metric in the pre-exposure period as the covariate', async () => {
    const m = metric({ kind: 'sum', property: 'revenue' })
    expect(await run(m, { until: NOW, preDays: 14 })).toEqual(expected(m, { until: NOW, preDays: 14 }))
  })

  it('percentile capping clips per-unit revenue at the percentile over all units', async () => {
    const m = metric({ kind: 'sum', property: 'revenue', capPercentile: 0.95 })
    const got = await run(m, { until: NOW })
    const want = expected(m, { until: NOW, cap: 0.95 })
    for (const v of ['control', 'treatment']) {
      expect(got[v]!.n).toBe(want[v]!.n)
      expect(got[v]!.sum).toBeCloseTo(want[v]!.sum, 6)
    }
    expect(got.treatment!.sum).toBeLessThan(expected(metric({ kind: 'sum', property: 'revenue' }), { until: NOW }).treatment!.sum)
  })

  it('daily cumulative series: the last day equals the whole-period figures', async () => {
    const m = metric({ kind: 'count' })
    const q = { key: 'exp', metrics: [m], until: NOW, testUsers: ['qa-1'] }
    const { exposedByDay } = await loadArmStats(store.client, q)
    const series = await loadDaily(store.client, q, START, exposedByDay)
    const whole = expected(m, { until: NOW })
    const last = series[series.length - 1]!
    for (const [arm, a] of last.stats) {
      expect(a.n).toBe(whole[arm]!.n)
      expect(a.sum).toBe(whole[arm]!.sum)
    }
    // Each day equals the whole-period figures as of that day's end.
    const mid = series[4]!
    const asOf = expected(m, { until: Date.parse(`${mid.day}T00:00:00Z`) + DAY - 1 })
    for (const [arm, a] of mid.stats) expect({ n: a.n, sum: a.sum }).toEqual({ n: asOf[arm]?.n ?? 0, sum: asOf[arm]?.sum ?? 0 })
  })
})

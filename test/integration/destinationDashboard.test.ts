import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import type { Store } from '../../clickhouse/store.js'
import { destinationsDashboard } from '../../dashboards/destinations.dashboard.js'
import { expandQuery } from '../../dashboards/macros.js'
import { Outbox, type OutboxRow } from '../../destinations/outbox.js'
import { createDestinationMetrics } from '../../runtime/destinationMetrics.js'
import { tempDataDir } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'

/** The destinations dashboard: its JSON (a panel per destination) and every query on the real engine. */
describe('destinations dashboard', () => {
  const data = tempDataDir()
  let store: Store
  const board = destinationsDashboard()
  const json = board.build()
  const now = Date.now()

  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    const rows: OutboxRow[] = []
    for (let i = 0; i < 60; i++) {
      const state = (['delivered', 'dead', 'pending', 'withheld'] as const)[i % 4]!
      rows.push({
        destinationId: i % 2 ? 'crm' : 'warehouse',
        record: { id: `r${i}`, userKey: `u${i % 7}`, kind: 'segment_entered', at: now - 60_000 * i, data: { segmentId: 's' } },
        seq: i,
        state,
        attempts: state === 'pending' ? i % 3 : 1 + (i % 3),
        lastError: '',
        enqueuedAt: now - 60_000 * i,
        updatedAt: now - 30_000 * i,
      })
    }
    await new Outbox(store.client).write(rows)
  })
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  it('has the destination variable and repeats the per-destination panels by it', () => {
    expect(json.uid).toBe('nudge-destinations')
    expect(json.templating?.list?.map((v) => v.name)).toEqual(['destination'])
    const repeated = (json.panels ?? [])
      .filter((p) => (p as { repeat?: string }).repeat === 'destination')
      .map((p) => (p as { title: string }).title)
    expect(repeated).toEqual(['Records · ${destination}', 'Lag · ${destination}'])
  })

  it.each([['All', ['$__all']] as const, ['one', ['crm']] as const])(
    'every SQL query runs with its declared columns and rows (%s)',
    async (_n, value) => {
      for (const c of [...board.sql, { spec: board.variables[0]!.sql! }]) {
        const query = expandQuery(c.spec.sql, {
          from: new Date(now - 6 * 3600_000),
          to: new Date(now + 60_000),
          intervalMs: 60_000,
          variables: { destination: [...value] },
        })
        const res = (await (await store.client.query({ query, format: 'JSON' })).json()) as { meta: { name: string }[]; data: unknown[] }
        expect(
          res.meta.map((m) => m.name),
          query,
        ).toEqual(c.spec.columns)
        expect(res.data.length, query).toBeGreaterThan(0)
      }
    },
  )

  it('the report table agrees with the outbox: per destination counts', async () => {
    const report = board.sql.find((c) => c.spec.columns[0] === 'destination')!
    const query = expandQuery(report.spec.sql, {
      from: new Date(0),
      to: new Date(now),
      intervalMs: 60_000,
      variables: { destination: ['$__all'] },
    })
    const res = (await (await store.client.query({ query, format: 'JSON' })).json()) as { data: Record<string, unknown>[] }
    expect(
      res.data.map((r) => [r.destination, Number(r.delivered), Number(r.dead_lettered), Number(r.pending), Number(r.withheld)]),
    ).toEqual([
      ['crm', 0, 15, 0, 15],
      ['warehouse', 15, 0, 15, 0],
    ])
  })

  it('its PromQL names metrics the destinations export', async () => {
    const registry = new Registry()
    createDestinationMetrics(registry)
    const names = new Set((await registry.getMetricsAsJSON()).map((m) => m.name))
    for (const p of board.promql) for (const n of p.expr.match(/\bnudge_[a-z0-9_]+/g) ?? []) expect(names.has(n), n).toBe(true)
    expect(board.promql.length).toBeGreaterThan(0)
  })
})

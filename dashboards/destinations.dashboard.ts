import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard'
import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard'
import { CLICKHOUSE } from './datasources.js'
import { Board } from './panels.js'
import { prom, sql } from './queries.js'
import type { Variable } from './variables.js'

/**
 * Destinations: what left for each destination (webhook, HubSpot, Salesforce, Segment), what was
 * retried, what gave up (the dead-letter list) and how far behind each one is. From the outbox
 * (`destination_outbox`, the same figures as `GET /api/destinations/report`) and the
 * `nudge_destination_*` metrics. The per-destination panels repeat once per destination chosen.
 */
const ONE = '$__conditionalAll(destination_id IN (${destination}), $destination)'
/** Panels whose title carries the variable are repeated per destination (Grafana's `repeat`). */
const PER_DESTINATION = '${destination}'

/** The Board with Grafana's panel repeat, which the shared builder does not set. */
class RepeatingBoard extends Board {
  override build(): Dashboard {
    const d = super.build()
    for (const p of d.panels ?? [])
      if ('title' in p && p.title?.includes(PER_DESTINATION))
        Object.assign(p, { repeat: 'destination', repeatDirection: 'h', maxPerRow: 3 })
    return d
  }
}

export function destinationVariable(): Variable {
  const rawSql = 'SELECT DISTINCT destination_id AS value FROM destination_outbox ORDER BY value'
  const b = new QueryVariableBuilder('destination')
    .label('Destination')
    .description('Destinations to show (each gets its own panels)')
    .datasource({ ...CLICKHOUSE })
    .query({ refId: 'var', queryType: 'sql', rawSql })
    .definition(rawSql)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] })
  return { name: 'destination', builder: b, multi: true, sql: { sql: rawSql, format: 'table', columns: ['value'] } }
}

export function destinationsDashboard(): Board {
  const b = new RepeatingBoard({
    uid: 'nudge-destinations',
    title: 'Nudge · Destinations',
    description: 'Per destination: delivered, retried, dead-lettered, pending and lag',
    tags: ['destinations'],
    from: 'now-6h',
    refresh: '30s',
  })
  b.variable(destinationVariable())
  b.row('Report')
  b.table({
    title: 'Destinations report',
    description: 'One row per destination, as GET /api/destinations/report answers it (all time)',
    queries: [
      sql({
        format: 'table',
        columns: ['destination', 'delivered', 'retried', 'dead_lettered', 'withheld', 'pending', 'lag_s'],
        sql: `
          SELECT destination_id AS destination, countIf(state = 'delivered') AS delivered,
                 sum(if(state = 'pending', attempts, if(attempts > 0, attempts - 1, 0))) AS retried,
                 countIf(state = 'dead') AS dead_lettered, countIf(state = 'withheld') AS withheld, countIf(state = 'pending') AS pending,
                 if(countIf(state = 'pending') > 0, dateDiff('second', minIf(at, state = 'pending'), now64(3)), 0) AS lag_s
          FROM destination_outbox FINAL
          WHERE ${ONE}
          GROUP BY destination ORDER BY destination`,
      }),
    ],
  })
  perDestinationRow(b)
  return b
}

function perDestinationRow(b: Board): void {
  b.row('Per destination')
  b.timeseries({
    title: `Records · ${PER_DESTINATION}`,
    description: 'Records per interval by the time of their last change: delivered, dead-lettered, and failed attempts retried',
    unit: 'short',
    queries: [
      sql({
        format: 'time_series',
        columns: ['time', 'delivered', 'retried', 'dead_lettered'],
        sql: `
          SELECT $__timeInterval(updated_at) AS time, countIf(state = 'delivered') AS delivered,
                 sumIf(attempts - 1, state IN ('delivered', 'dead') AND attempts > 1) AS retried, countIf(state = 'dead') AS dead_lettered
          FROM destination_outbox FINAL
          WHERE $__timeFilter(updated_at) AND ${ONE}
          GROUP BY time ORDER BY time`,
      }),
    ],
  })
  b.timeseries({
    title: `Lag · ${PER_DESTINATION}`,
    description: 'nudge_destination_lag_seconds: age of the oldest pending record (0 when caught up)',
    unit: 's',
    queries: [
      prom({
        expr: 'max by (destination) (nudge_destination_lag_seconds{destination=~"${destination:regex}"})',
        legend: '{{destination}}',
      }),
    ],
  })
}

import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import {
  QueryVariableBuilder,
  TextBoxVariableBuilder,
  type VariableModel,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { CLICKHOUSE } from './datasources.js'
import { type SqlSpec, dedent } from './queries.js'

/**
 * Template variables. Query variables run their SQL on ClickHouse; multi-value ones are used in
 * SQL only inside `$__conditionalAll(column IN (${name}), $name)`, which the plugin turns into
 * `1=1` when "All" is selected and otherwise into the condition with the values quoted
 * (`'a','b'`).
 */
export interface Variable {
  name: string
  builder: cog.Builder<VariableModel>
  /** Multi-value with an "All" option. */
  multi: boolean
  /** The SQL that lists the options (query variables). */
  sql?: SqlSpec
}

function queryVariable(o: { name: string; label: string; description: string; sql: string; multi: boolean }): Variable {
  const rawSql = dedent(o.sql)
  const b = new QueryVariableBuilder(o.name)
    .label(o.label)
    .description(o.description)
    .datasource({ ...CLICKHOUSE })
    .query({ refId: 'var', queryType: 'sql', rawSql })
    .definition(rawSql)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
  if (o.multi)
    b.multi(true)
      .includeAll(true)
      .current({ selected: true, text: ['All'], value: ['$__all'] })
  return { name: o.name, builder: b, multi: o.multi, sql: { sql: rawSql, format: 'table', columns: ['value'] } }
}

/** Journeys (any that ever ran, or is defined), several or all. */
export function journeyVariable(): Variable {
  return queryVariable({
    name: 'journey',
    label: 'Journey',
    description: 'Journeys to show (all by default)',
    multi: true,
    sql: `
      SELECT DISTINCT value FROM (
        SELECT id AS value FROM journeys
        UNION ALL
        SELECT DISTINCT toString(journey_id) AS value FROM journey_runs WHERE $__timeFilter(at)
      )
      ORDER BY value`,
  })
}

/** One experiment: the defined ones that are not deleted. */
export function experimentVariable(): Variable {
  return queryVariable({
    name: 'experiment',
    label: 'Experiment',
    description: 'The experiment to show',
    multi: false,
    sql: `
      SELECT key AS value FROM experiments
      GROUP BY key
      HAVING argMax(deleted, version) = 0
      ORDER BY max(updated_at) DESC`,
  })
}

/** A number typed in: the trigger-latency SLO in seconds. */
export function sloVariable(defaultSeconds = 300): Variable {
  const b = new TextBoxVariableBuilder('slo_seconds')
    .label('SLO (s)')
    .description('Latency objective in seconds: the red line on the latency panels, and what counts as a breach')
    .defaultValue(String(defaultSeconds))
    .current({ selected: true, text: String(defaultSeconds), value: String(defaultSeconds) })
  return { name: 'slo_seconds', builder: b, multi: false }
}

/** Where Nudge's API answers, for links from panels to `/api/...` (results with intervals). */
export function nudgeApiVariable(defaultUrl = 'http://localhost:3000'): Variable {
  const b = new TextBoxVariableBuilder('nudge_api')
    .label('Nudge API')
    .description("Base URL of Nudge's API, for the links to its results (the API wants the admin key)")
    .defaultValue(defaultUrl)
    .current({ selected: true, text: defaultUrl, value: defaultUrl })
  return { name: 'nudge_api', builder: b, multi: false }
}

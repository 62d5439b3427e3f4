import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common'
import { DataqueryBuilder as PrometheusQueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus'
import { CLICKHOUSE, CLICKHOUSE_PLUGIN_VERSION, PROMETHEUS } from './datasources.js'

/**
 * Queries as builders for the foundation SDK. The SDK has no ClickHouse data source, so the query
 * model of grafana-clickhouse-datasource (4.x, SQL editor) is built here: `rawSql` with the
 * plugin's macros, `format` 0 = time series / 1 = table (the backend's sqlutil numbering),
 * `queryType` for the editor.
 *
 * Every SQL query declares the columns its panel reads. The integration test expands the macros,
 * runs the query on the real engine and checks that exactly these columns come back.
 */
export type SqlFormat = 'time_series' | 'table'

export interface ClickHouseDataquery extends cog.Dataquery {
  refId: string
  datasource: DataSourceRef
  editorType: 'sql'
  queryType: 'timeseries' | 'table'
  format: 0 | 1
  rawSql: string
  pluginVersion: string
}

export interface SqlSpec {
  /** The SQL, with the data source's macros (`$__timeFilter(at)`…) and template variables. */
  sql: string
  /** time_series: the first column is the time bucket, string columns become series labels. */
  format: SqlFormat
  /** The columns the panel (or alert) reads, in order. */
  columns: string[]
}

export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private ref = 'A'
  constructor(readonly spec: SqlSpec) {
    spec.sql = dedent(spec.sql)
  }

  refId(refId: string): this {
    this.ref = refId
    return this
  }

  get currentRefId(): string {
    return this.ref
  }

  build(): ClickHouseDataquery {
    return {
      refId: this.ref,
      datasource: { ...CLICKHOUSE },
      editorType: 'sql',
      queryType: this.spec.format === 'time_series' ? 'timeseries' : 'table',
      format: this.spec.format === 'time_series' ? 0 : 1,
      rawSql: this.spec.sql,
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      _implementsDataqueryVariant() {},
    }
  }
}

/** A ClickHouse SQL query for a panel. */
export function sql(spec: SqlSpec): ClickHouseQueryBuilder {
  return new ClickHouseQueryBuilder(spec)
}

export interface PromSpec {
  expr: string
  legend?: string
  /** Evaluate once at the end of the range (stat panels) rather than over it. */
  instant?: boolean
}

export class PromQuery implements cog.Builder<cog.Dataquery> {
  private ref = 'A'
  constructor(readonly spec: PromSpec) {}

  refId(refId: string): this {
    this.ref = refId
    return this
  }

  get currentRefId(): string {
    return this.ref
  }

  build(): cog.Dataquery {
    const q = new PrometheusQueryBuilder()
      .datasource({ ...PROMETHEUS })
      .expr(this.spec.expr)
      .refId(this.ref)
      .format(PromQueryFormat.TimeSeries)
    if (this.spec.legend) q.legendFormat(this.spec.legend)
    if (this.spec.instant) q.instant()
    else q.range()
    return q.build()
  }
}

/** A Prometheus query (Nudge's `GET /metrics`, scraped). */
export function prom(spec: PromSpec): PromQuery {
  return new PromQuery(spec)
}

export type AnyQuery = ClickHouseQueryBuilder | PromQuery

/**
 * Strips the first line's indentation from every line of a template literal (no more than a line
 * has), so the SQL in the JSON reads well.
 */
export function dedent(text: string): string {
  const lines = text
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '')
    .split('\n')
  const indent = lines[0]!.match(/^ */)![0].length
  return lines.map((l) => l.slice(Math.min(indent, l.match(/^ */)![0].length))).join('\n')
}

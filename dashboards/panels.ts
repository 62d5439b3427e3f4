import { PanelBuilder as BarChartPanel } from '@grafana/grafana-foundation-sdk/barchart'
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  LineStyleBuilder,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  SortOrder,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common'
import {
  AnnotationQueryBuilder,
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type VariableModel,
} from '@grafana/grafana-foundation-sdk/dashboard'
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat'
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table'
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries'
import { CLICKHOUSE, PROMETHEUS } from './datasources.js'
import { type AnyQuery, ClickHouseQueryBuilder, PromQuery, type SqlSpec } from './queries.js'
import type { Variable } from './variables.js'

/** One SQL query of a dashboard (panel or template variable) or alert rule, with the columns it must return. */
export interface SqlCheck {
  /** Dashboard uid or alert rule uid. */
  source: string
  /** Panel title, `variable <name>`, or the alert rule title. */
  name: string
  refId: string
  kind: 'panel' | 'variable' | 'alert'
  /** The panel's visualization (panels only): stat panels need one row, bar charts their x field. */
  panelType?: 'timeseries' | 'stat' | 'table' | 'barchart'
  /** Bar charts: the column on the x axis. */
  xField?: string
  spec: SqlSpec
}

export interface PromCheck {
  source: string
  name: string
  expr: string
}

export interface PanelOptions {
  title: string
  description: string
  queries: AnyQuery[]
  unit?: string
  /** Grid width (of 24) and height. */
  w?: number
  h?: number
  decimals?: number
  min?: number
  max?: number
  /** Links shown on the panel (corner menu). */
  links?: { title: string; url: string }[]
  /** Series/field display name, e.g. `\${__field.labels.journey}` for one series per journey. */
  displayName?: string
}

export interface TimeseriesOptions extends PanelOptions {
  stack?: boolean
  bars?: boolean
  /** Series drawn as a dashed red reference line (an SLO), by field name. */
  referenceLines?: string[]
}

export interface StatOptions extends PanelOptions {
  /** Colour steps: [base colour, then value → colour]. */
  thresholds?: { base: string; steps?: [number, string][] }
  sparkline?: boolean
}

export interface BarChartOptions extends PanelOptions {
  xField: string
  stack?: boolean
}

/**
 * A dashboard under construction: the SDK's DashboardBuilder plus what the SDK leaves to us —
 * panel ids, refIds, each panel's data source taken from its queries, and a record of every SQL
 * and PromQL query (the test runs the SQL; the PromQL is checked against the metric registry).
 */
export class Board {
  readonly uid: string
  readonly title: string
  readonly builder: DashboardBuilder
  readonly sql: SqlCheck[] = []
  readonly promql: PromCheck[] = []
  readonly variables: Variable[] = []
  private nextId = 1

  constructor(opts: { uid: string; title: string; description: string; tags?: string[]; from?: string; refresh?: string }) {
    this.uid = opts.uid
    this.title = opts.title
    this.builder = new DashboardBuilder(opts.title)
      .uid(opts.uid)
      .description(opts.description)
      .tags(['nudge', ...(opts.tags ?? [])])
      .timezone('utc')
      .editable()
      .tooltip(DashboardCursorSync.Crosshair)
      .time({ from: opts.from ?? 'now-24h', to: 'now' })
      .refresh(opts.refresh ?? '1m')
      // Grafana's own annotations and alert states, as every dashboard has them.
      .annotation(
        new AnnotationQueryBuilder()
          .name('Annotations & Alerts')
          .builtIn(1)
          .datasource({ type: 'grafana', uid: '-- Grafana --' })
          .enable(true)
          .hide(true)
          .iconColor('rgba(0, 211, 255, 1)')
          .type('dashboard'),
      )
      .link(
        new DashboardLinkBuilder('Nudge dashboards')
          .type(DashboardLinkType.Dashboards)
          .tags(['nudge'])
          .asDropdown(true)
          .includeVars(false)
          .keepTime(true),
      )
  }

  variable(v: Variable): this {
    this.variables.push(v)
    this.builder.withVariable(v.builder)
    if (v.sql) this.sql.push({ source: this.uid, name: `variable ${v.name}`, refId: 'var', kind: 'variable', spec: v.sql })
    return this
  }

  row(title: string): this {
    this.builder.withRow(new RowBuilder(title).id(this.nextId++))
    return this
  }

  timeseries(o: TimeseriesOptions): this {
    const p = new TimeseriesPanel()
      .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
      .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
      .lineWidth(1)
      .fillOpacity(o.bars ? 80 : o.stack ? 25 : 10)
      .drawStyle(o.bars ? GraphDrawStyle.Bars : GraphDrawStyle.Line)
      .spanNulls(false)
    if (o.stack) p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal).group('A'))
    for (const name of o.referenceLines ?? [])
      p.overrideByName(name, [
        { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
        { id: 'custom.lineStyle', value: new LineStyleBuilder().fill('dash').dash([10, 10]).build() },
        { id: 'custom.fillOpacity', value: 0 },
      ])
    if (o.min !== undefined) p.min(o.min)
    if (o.max !== undefined) p.max(o.max)
    if (o.unit) p.unit(o.unit)
    if (o.decimals !== undefined) p.decimals(o.decimals)
    return this.add(p, o, 12, 8, 'timeseries')
  }

  stat(o: StatOptions): this {
    const p = new StatPanel()
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields(''))
      .graphMode(o.sparkline ? BigValueGraphMode.Area : BigValueGraphMode.None)
      .colorMode(o.thresholds ? BigValueColorMode.Background : BigValueColorMode.Value)
    if (o.thresholds)
      p.thresholds(
        new ThresholdsConfigBuilder()
          .mode(ThresholdsMode.Absolute)
          .steps([
            { value: null as unknown as number, color: o.thresholds.base },
            ...(o.thresholds.steps ?? []).map(([value, color]) => ({ value, color })),
          ]),
      )
    if (o.min !== undefined) p.min(o.min)
    if (o.max !== undefined) p.max(o.max)
    if (o.unit) p.unit(o.unit)
    if (o.decimals !== undefined) p.decimals(o.decimals)
    return this.add(p, o, 6, 4, 'stat')
  }

  table(o: PanelOptions): this {
    const p = new TablePanel().filterable(true)
    if (o.unit) p.unit(o.unit)
    if (o.decimals !== undefined) p.decimals(o.decimals)
    return this.add(p, o, 24, 9, 'table')
  }

  barchart(o: BarChartOptions): this {
    const p = new BarChartPanel()
      .xField(o.xField)
      .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
      .stacking(o.stack ? StackingMode.Normal : StackingMode.None)
      .fillOpacity(80)
    if (o.unit) p.unit(o.unit)
    if (o.decimals !== undefined) p.decimals(o.decimals)
    return this.add(p, o, 12, 8, 'barchart', o.xField)
  }

  build(): Dashboard {
    return this.builder.build()
  }

  private add(
    p: TimeseriesPanel | StatPanel | TablePanel | BarChartPanel,
    o: PanelOptions,
    w: number,
    h: number,
    panelType: NonNullable<SqlCheck['panelType']>,
    xField?: string,
  ): this {
    if (!o.queries.length) throw new Error(`${this.uid}: panel "${o.title}" has no query`)
    const first = o.queries[0]!
    const datasource = first instanceof ClickHouseQueryBuilder ? CLICKHOUSE : PROMETHEUS
    if (o.queries.some((q) => q instanceof ClickHouseQueryBuilder !== first instanceof ClickHouseQueryBuilder))
      throw new Error(`${this.uid}: panel "${o.title}" mixes data sources`)
    o.queries.forEach((q, i) => {
      q.refId(String.fromCharCode(65 + i))
      if (q instanceof ClickHouseQueryBuilder)
        this.sql.push({
          source: this.uid,
          name: o.title,
          refId: q.currentRefId,
          kind: 'panel',
          panelType,
          ...(xField ? { xField } : {}),
          spec: q.spec,
        })
      else if (q instanceof PromQuery) this.promql.push({ source: this.uid, name: o.title, expr: q.spec.expr })
    })
    p.id(this.nextId++)
      .title(o.title)
      .description(o.description)
      .datasource({ ...datasource })
      .targets(o.queries as cog.Builder<cog.Dataquery>[])
      .span(o.w ?? w)
      .height(o.h ?? h)
    if (o.displayName) p.displayName(o.displayName)
    if (o.links?.length)
      p.links(o.links.map((l) => new DashboardLinkBuilder(l.title).type(DashboardLinkType.Link).url(l.url).targetBlank(true)))
    this.builder.withPanel(p)
    return this
  }
}

export type { VariableModel }

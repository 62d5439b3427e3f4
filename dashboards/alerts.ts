import { QueryBuilder as AlertQuery, RuleBuilder, RuleGroupBuilder } from '@grafana/grafana-foundation-sdk/alerting'
import type * as cog from '@grafana/grafana-foundation-sdk/cog'
import { TypeReduceBuilder, TypeThresholdBuilder } from '@grafana/grafana-foundation-sdk/expr'
import { DataqueryBuilder as PrometheusQueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import { CLICKHOUSE, EXPRESSION, FOLDER, PROMETHEUS } from './datasources.js'
import type { PromCheck, SqlCheck } from './panels.js'
import { sql } from './queries.js'
import { COUNTED_FALSE_TRIGGER, secondsBetween, srmSql } from './sql.js'

/**
 * Alert rules as code (Grafana unified alerting), one group evaluated every minute:
 *
 * - trigger latency SLO: p99 of received → run started, per journey, over the last 10 minutes,
 *   above that journey's SLO (TRIGGER_LATENCY_SLOS, else TRIGGER_LATENCY_SLO) for 5 minutes;
 * - false trigger: any finding in `false_triggers` in the last 5 minutes, per journey and class
 *   (the informational class test_account left out);
 * - SRM: a running experiment whose split's p-value is below 0.001 (once it has 100 units);
 * - ingestion errors: server errors (5xx) answered to ingest requests
 *   (`nudge_ingest_rejects_total{status=~"5.."}`) at any rate above zero for 2 minutes;
 * - worker failures: Temporal workflow task failures (`temporal_workflow_task_execution_failed`,
 *   on the worker's own metrics port when TEMPORAL_METRICS_PORT is set) or failing send attempts
 *   (`nudge_send_failures_total`), at any rate for 5 minutes;
 * - routing failures: calls to Temporal that keep failing (`nudge_journey_routing_retries`, the
 *   router's gauge of calls that failed 8 times in a row and are still being retried).
 *
 * SQL rules return one number per row (table format) with string columns as labels, which Grafana
 * alerting evaluates per row; they use only the data source's server-side macros
 * (`$__timeFilter`, `$__toTime`), never dashboard variables, which exist only in a browser.
 */
export interface AlertSqlCheck extends SqlCheck {
  /** The query's time range: the last `windowSeconds` before evaluation. */
  windowSeconds: number
}

export interface AlertRules {
  group: RuleGroupBuilder
  sql: AlertSqlCheck[]
  promql: PromCheck[]
}

export const RULE_GROUP = 'nudge'
export const SRM_P_THRESHOLD = 0.001
export const SRM_MIN_UNITS = 100
/**
 * The Temporal worker's workflow task failures per second. The Core SDK's Prometheus exporter
 * names the counter with or without the `_total` suffix depending on its version: both match.
 */
export const TEMPORAL_TASK_FAILURES = '(sum(rate({__name__=~"temporal_workflow_task_execution_failed(_total)?"}[5m])) or vector(0))'

type Evaluator = { type: 'gt' | 'lt'; value: number }

function threshold(input: string, e: Evaluator) {
  return new AlertQuery('C').datasourceUid(EXPRESSION.uid).model(
    new TypeThresholdBuilder()
      .refId('C')
      .datasource({ ...EXPRESSION })
      .expression(input)
      .conditions([{ evaluator: { type: e.type, params: [e.value] } }]),
  )
}

type RuleText = { uid: string; title: string; summary: string; description: string; severity: string; for: string }
type SqlRule = RuleText & { windowSeconds: number; sql: string; columns: string[]; when: Evaluator }
type PromRule = RuleText & { expr: string; when: Evaluator }

export function alertRules(opts: { sloSeconds?: number; sloByJourney?: Record<string, number> } = {}): AlertRules {
  const slo = opts.sloSeconds !== undefined && Number.isFinite(opts.sloSeconds) && opts.sloSeconds > 0 ? opts.sloSeconds : 300
  const out: AlertRules = { group: new RuleGroupBuilder(RULE_GROUP).folderUid(FOLDER.uid).interval(60), sql: [], promql: [] }
  for (const r of sqlRules(slo, sloOfJourney(slo, opts.sloByJourney ?? {}))) addSqlRule(out, r)
  for (const r of promRules()) addPromRule(out, r)
  return out
}

/**
 * Each journey against its own SLO (TRIGGER_LATENCY_SLOS), the rest against the default. The
 * journey ids become SQL literals here — Grafana runs this text as it is, with no parameters —
 * so they are escaped (config already limits them to letters, digits, _ . -).
 * A missing, unparsable or zero SLO would divide by zero and fire for ever: such entries are left out.
 */
function sloOfJourney(slo: number, sloByJourney: Record<string, number>): string {
  const own = Object.entries(sloByJourney).filter(([, v]) => Number.isFinite(v) && v > 0)
  const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  return own.length
    ? `transform(toString(journey_id), [${own.map(([j]) => literal(j)).join(', ')}], CAST([${own.map(([, v]) => v).join(', ')}] AS Array(Float64)), toFloat64(${slo}))`
    : `toFloat64(${slo})`
}

/** What every rule shares: where it lives, how long the condition must hold, labels, text; `C` is the condition. */
function addRule(out: AlertRules, r: RuleText, queries: AlertQuery[]): void {
  let b = new RuleBuilder(r.title).uid(r.uid).folderUID(FOLDER.uid).ruleGroup(RULE_GROUP).orgID(1)
  for (const q of queries) b = b.withQuery(q)
  out.group.withRule(
    b
      .condition('C')
      .forDuration(r.for)
      .noDataState('OK')
      .execErrState('Error')
      .labels({ team: 'nudge', severity: r.severity })
      .annotations({ summary: r.summary, description: r.description }),
  )
}

function addSqlRule(out: AlertRules, r: SqlRule): void {
  const q = sql({ format: 'table', columns: r.columns, sql: r.sql }).refId('A')
  out.sql.push({ source: r.uid, name: r.title, refId: 'A', kind: 'alert', spec: q.spec, windowSeconds: r.windowSeconds })
  addRule(out, r, [
    new AlertQuery('A').datasourceUid(CLICKHOUSE.uid).relativeTimeRange({ from: r.windowSeconds, to: 0 }).model(q),
    threshold('A', r.when),
  ])
}

function addPromRule(out: AlertRules, r: PromRule): void {
  out.promql.push({ source: r.uid, name: r.title, expr: r.expr })
  const model: cog.Builder<cog.Dataquery> = new PrometheusQueryBuilder()
    .refId('A')
    .datasource({ ...PROMETHEUS })
    .expr(r.expr)
    .range()
    .intervalMs(15000)
    .maxDataPoints(43200)
  addRule(out, r, [
    new AlertQuery('A').datasourceUid(PROMETHEUS.uid).relativeTimeRange({ from: 600, to: 0 }).model(model),
    new AlertQuery('B').datasourceUid(EXPRESSION.uid).model(
      new TypeReduceBuilder()
        .refId('B')
        .datasource({ ...EXPRESSION })
        .expression('A')
        .reducer('last')
        .settings({ mode: 'dropNN' }),
    ),
    threshold('B', r.when),
  ])
}

/**
 * The rules on ClickHouse data: trigger latency SLO, false triggers, SRM. Their SQL keeps the
 * indentation it had: dedent() strips the least-indented line's, and srmSql's text brings its own,
 * so moving these lines would change the provisioned YAML.
 */
function sqlRules(slo: number, sloOf: string): SqlRule[] {
  return [
    {
      uid: 'nudge-trigger-latency-slo',
      title: 'Trigger latency SLO breached',
      summary: 'Journey {{ $labels.journey }}: p99 received → run started is {{ $values.A.Value }}× its SLO',
      description: `The 99th percentile of receiving a trigger event to its journey run starting, over the last 10 minutes, has been above the journey's SLO (TRIGGER_LATENCY_SLOS; default ${slo} s) for 5 minutes. Look at the routing queue (nudge_journey_routing_queue) and the Temporal worker.`,
      severity: 'critical',
      windowSeconds: 600,
      for: '5m',
      columns: ['journey', 'p99_over_slo'],
      when: { type: 'gt', value: 1 },
      sql: `
      SELECT toString(journey_id) AS journey, quantile(0.99)(${secondsBetween('received_at', 'at')}) / ${sloOf} AS p99_over_slo
      FROM journey_runs
      WHERE $__timeFilter(at) AND phase = 'started' AND is_test = 0
      GROUP BY journey_id
      ORDER BY journey`,
    },
    {
      uid: 'nudge-false-trigger',
      title: 'False trigger',
      summary: '{{ $values.A.Value }} false trigger(s) of class {{ $labels.class }} in journey {{ $labels.journey }}',
      description:
        'The false-trigger report found runs that should not have started in the last 5 minutes. The examples and their evidence are on the False triggers dashboard.',
      severity: 'warning',
      windowSeconds: 300,
      for: '0s',
      columns: ['journey', 'class', 'false_triggers'],
      when: { type: 'gt', value: 0 },
      sql: `
      SELECT toString(journey_id) AS journey, toString(class) AS class, count() AS false_triggers
      FROM false_triggers
      WHERE $__timeFilter(at) AND ${COUNTED_FALSE_TRIGGER}
      GROUP BY journey, class
      ORDER BY journey, class`,
    },
    {
      uid: 'nudge-srm',
      title: 'Sample ratio mismatch',
      summary: 'Experiment {{ $labels.experiment }}: SRM p = {{ $values.A.Value }}',
      description: `A running experiment's units per variant do not match its weights (χ² p < ${SRM_P_THRESHOLD}, once it has ${SRM_MIN_UNITS} units): assignment or exposure logging is broken and its results are not trustworthy. Details: GET /api/experiments/<key>/results.`,
      severity: 'critical',
      windowSeconds: 3600,
      for: '0s',
      columns: ['experiment', 'p_value'],
      when: { type: 'lt', value: SRM_P_THRESHOLD },
      sql: `
      SELECT experiment, p_value
      FROM (${srmSql({ experiments: "argMax(status, version) = 'running'", exposures: 'first_at <= $__toTime' })})
      WHERE units >= ${SRM_MIN_UNITS}`,
    },
  ]
}

/** The rules on Prometheus metrics: ingest errors, worker failures, routing failures. */
function promRules(): PromRule[] {
  return [
    {
      uid: 'nudge-ingest-errors',
      title: 'Ingestion errors',
      summary: 'Ingest requests failing with server errors: {{ $values.B.Value }}/s',
      description:
        'Nudge answered ingest requests with 5xx (nudge_ingest_rejects_total{status=~"5.."}): events are being refused, clients will retry. Check the store (ClickHouse) and the logs.',
      severity: 'critical',
      for: '2m',
      expr: 'sum(rate(nudge_ingest_rejects_total{status=~"5.."}[5m])) or vector(0)',
      when: { type: 'gt', value: 0 },
    },
    {
      uid: 'nudge-worker-failures',
      title: 'Worker failures',
      summary: 'Journey work is failing: {{ $values.B.Value }} failures/s (workflow tasks and sends)',
      description:
        'Temporal workflow tasks are failing (temporal_workflow_task_execution_failed, exported by the worker when TEMPORAL_METRICS_PORT is set) or send attempts are failing and being retried (nudge_send_failures_total: store or SMTP trouble). Check the worker logs and the Temporal UI.',
      severity: 'critical',
      for: '5m',
      expr: `${TEMPORAL_TASK_FAILURES} + (sum(rate(nudge_send_failures_total[5m])) or vector(0))`,
      when: { type: 'gt', value: 0 },
    },
    {
      uid: 'nudge-routing-failures',
      title: 'Journey routing failing',
      summary: '{{ $values.B.Value }} routing call(s) to Temporal keep failing',
      description:
        'nudge_journey_routing_retries: calls that start, signal or exit journey runs have failed 8 times in a row and are still being retried — runs are not starting. Check the Temporal server and worker.',
      severity: 'critical',
      for: '5m',
      expr: 'max(nudge_journey_routing_retries) or vector(0)',
      when: { type: 'gt', value: 0 },
    },
  ]
}

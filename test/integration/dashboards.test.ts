import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import type { EventWriter } from '../../ingest/eventWriter.js'
import { FALSE_TRIGGER_CLASSES } from '../../analytics/reports/falseTriggers.js'
import type { SegmentEngine } from '../../segments/segmentEngine.js'
import { srm } from '../../analytics/stats/srm.js'
import { type Store, selectRows } from '../../clickhouse/store.js'
import { type AlertSqlCheck, SRM_MIN_UNITS } from '../../dashboards/alerts.js'
import { buildAll } from '../../dashboards/build.js'
import { DASHBOARD_TABLES, exportTables, importCommands } from '../../dashboards/exportStore.js'
import { CLICKHOUSE, EXPRESSION, PROMETHEUS } from '../../dashboards/datasources.js'
import {
  ALL,
  type MacroContext,
  type VariableValue,
  expandBackendMacros,
  expandQuery,
  interpolateVariables,
  referencedVariables,
} from '../../dashboards/macros.js'
import type { SqlCheck } from '../../dashboards/panels.js'
import type { Deliverer } from '../../delivery/deliver.js'
import type { TriggerRouter } from '../../journeys/triggerRouter.js'
import { destinationReport } from '../../destinations/destinationReport.js'
import { createDestinationMetrics } from '../../runtime/destinationMetrics.js'
import { addJourneyMetrics, createMetrics } from '../../runtime/metrics.js'
import { tempDataDir } from '../helpers/harness.js'
import { openMigratedStore } from '../helpers/store.js'

/**
 * The dashboards and alert rules as code: the generated JSON and YAML are valid and consistent,
 * and every ClickHouse query — each panel's, each template variable's, each alert rule's — runs
 * on the real engine (chdb) over seeded data, after the same macro and variable expansion
 * Grafana does, returning exactly the columns its panel or rule reads.
 */
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const FROM = Date.parse('2026-03-01T00:00:00.000Z')
const TO = FROM + 7 * DAY
const INTERVAL_MS = HOUR
const SLO = 300

const build = buildAll({
  sloSeconds: SLO,
  provisioning: {
    clickhouseUrl: 'https://ch.example.com:8443',
    clickhouseUser: 'grafana',
    clickhouseDatabase: 'nudge',
    prometheusUrl: 'http://prometheus:9090',
    dashboardsPath: '/var/lib/grafana/dashboards/nudge',
  },
})
const panelSql = build.dashboards.flatMap((d) => d.board.sql)
const alertSql = build.alerts.sql

/** Two settings of the dashboards' variables: everything ("All"), and a picked subset. */
const SCENARIOS: Record<string, Record<string, VariableValue>> = {
  all: { journey: ALL, experiment: 'cart-timing', slo_seconds: String(SLO), nudge_api: 'http://localhost:3000', destination: ALL },
  picked: {
    journey: ['cart-abandonment', 'welcome'],
    experiment: 'three-arm',
    slo_seconds: '60',
    nudge_api: 'http://localhost:3000',
    destination: ['crm', 'segment-prod'],
  },
}

// ---------------------------------------------------------------------------------------------
// Seed: a week of simulated Nudge activity.

function rng(seed: number) {
  let s = seed >>> 0
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
}
const r = rng(8)
const JOURNEYS = ['cart-abandonment', 'browse-abandonment', 'welcome']
const EXPERIMENT_OF: Record<string, { key: string; variants: string[] }> = {
  'cart-abandonment': { key: 'cart-timing', variants: ['fast', 'slow'] },
  welcome: { key: 'three-arm', variants: ['a', 'b', 'c'] },
}
const SKIP_REASONS = ['consent', 'frequency_cap', 'quiet_hours', 'exit:Order Completed', 'template_error']
const OUTCOMES = ['completed', 'exit:Order Completed', 'holdout', 'converted', 'template_error']

const rows: Record<string, Record<string, unknown>[]> = {
  journeys: [],
  journey_runs: [],
  journey_steps: [],
  send_ledger: [],
  message_events: [],
  experiments: [],
  experiment_exposures: [],
  events: [],
  false_triggers: [],
  destination_outbox: [],
}

for (const id of JOURNEYS)
  rows.journeys!.push({ id, definition: JSON.stringify({ id }), status: 'active', version: 1, updated_at: FROM - DAY, deleted: 0 })

const run = (o: {
  i: number
  journey: string
  user: string
  triggerAt: number
  receivedAt: number
  startedAt: number
  endedAt?: number
  outcome?: string
  test?: boolean
}) => {
  const base = {
    workflow_id: `${o.journey}:${o.user}:${o.i}`,
    journey_id: o.journey,
    journey_version: 1,
    user_key: o.user,
    correlation: '',
    trigger_message_id: `trigger-${o.i}`,
    trigger_event: 'Product Added',
    trigger_at: o.triggerAt,
    received_at: o.receivedAt,
    is_test: o.test ? 1 : 0,
  }
  rows.journey_runs!.push({ ...base, phase: 'started', outcome: '', at: o.startedAt })
  if (o.endedAt) rows.journey_runs!.push({ ...base, phase: 'ended', outcome: o.outcome ?? 'completed', at: o.endedAt })
  return base
}

const sentMessages: {
  id: string
  journey: string
  step: string
  user: string
  at: number
  experiment: string
  variant: string
  test: boolean
  i: number
}[] = []
for (let i = 0; i < 240; i++) {
  const journey = JOURNEYS[i % 3]!
  const test = i % 25 === 0
  const user = test ? `qa-${i}` : `u${i % 150}`
  const triggerAt = FROM + Math.floor(r() * (7 * DAY - 4 * HOUR))
  const receivedAt = triggerAt + 100 + Math.floor(r() * 5000)
  const startedAt = receivedAt + (i % 40 === 7 ? 400_000 : 50 + Math.floor(r() * 2000))
  const base = run({
    i,
    journey,
    user,
    triggerAt,
    receivedAt,
    startedAt,
    endedAt: startedAt + Math.floor(r() * 2 * HOUR),
    outcome: OUTCOMES[i % OUTCOMES.length],
    test,
  })
  // A retried activity records the start twice: counted once.
  if (i % 50 === 1) rows.journey_runs!.push({ ...rows.journey_runs!.at(-2)! })
  const exp = EXPERIMENT_OF[journey]
  const variant = exp ? exp.variants[i % exp.variants.length]! : ''
  const step = {
    workflow_id: base.workflow_id,
    journey_id: journey,
    journey_version: 1,
    user_key: user,
    experiment_key: exp?.key ?? '',
    variant,
    flags: '{}',
    is_test: test ? 1 : 0,
  }
  const scheduledAt = startedAt + Math.floor(r() * HOUR)
  rows.journey_steps!.push({
    ...step,
    step_id: 'wait',
    step_type: 'delay',
    outcome: 'waited',
    reason: '',
    scheduled_at: scheduledAt,
    at: scheduledAt + 5,
    message_id: '',
  })
  const messageId = `msg-${i}`
  if (i % 4 === 3) {
    rows.journey_steps!.push({
      ...step,
      step_id: 'email',
      step_type: 'send',
      outcome: 'skipped',
      reason: SKIP_REASONS[i % SKIP_REASONS.length],
      scheduled_at: scheduledAt,
      at: scheduledAt + 30,
      message_id: messageId,
    })
    continue
  }
  const sentAt = scheduledAt + 200 + Math.floor(r() * 3000)
  rows.journey_steps!.push({
    ...step,
    step_id: 'email',
    step_type: 'send',
    outcome: 'sent',
    reason: '',
    scheduled_at: scheduledAt,
    at: sentAt,
    message_id: messageId,
  })
  const ledger = {
    message_id: messageId,
    workflow_id: base.workflow_id,
    journey_id: journey,
    step_id: 'email',
    user_key: user,
    recipient_hash: `h${i}`,
    template: 'reminder',
    subject: 'Still thinking?',
    topic: 'marketing',
    priority: 1,
    experiment_key: exp?.key ?? '',
    variant,
    scheduled_at: scheduledAt,
    is_test: test ? 1 : 0,
  }
  rows.send_ledger!.push({ ...ledger, status: 'sending', at: sentAt - 100 }, { ...ledger, status: 'sent', at: sentAt })
  sentMessages.push({ id: messageId, journey, step: 'email', user, at: sentAt, experiment: exp?.key ?? '', variant, test, i })
}
// The last ten minutes: cart-abandonment runs start 10 minutes after their event arrived (an SLO
// breach), welcome runs within a second.
for (let k = 0; k < 5; k++) {
  run({
    i: 1000 + k,
    journey: 'cart-abandonment',
    user: `late${k}`,
    triggerAt: TO - 14 * MIN,
    receivedAt: TO - 13 * MIN,
    startedAt: TO - 3 * MIN + k,
  })
  run({
    i: 2000 + k,
    journey: 'welcome',
    user: `quick${k}`,
    triggerAt: TO - 3 * MIN,
    receivedAt: TO - 3 * MIN + 100,
    startedAt: TO - 2 * MIN,
  })
}

for (const m of sentMessages) {
  const ev = (event: string, at: number, extra: Record<string, unknown> = {}) =>
    rows.message_events!.push({
      message_id: m.id,
      event,
      at,
      user_key: m.user,
      journey_id: m.journey,
      step_id: m.step,
      template: 'reminder',
      experiment_key: m.experiment,
      variant: m.variant,
      url: '',
      machine: 0,
      machine_reason: '',
      bounce_type: '',
      provider: '',
      user_agent: 'test',
      is_test: m.test ? 1 : 0,
      ...extra,
    })
  ev('delivered', m.at + 1000)
  if (m.i % 3 === 0) ev('open', m.at + 10 * MIN)
  if (m.i % 3 === 0 && m.i % 2 === 0) ev('open', m.at + 20 * MIN) // opened twice: one open
  if (m.i % 4 === 0) ev('open', m.at + 5000, { machine: 1, machine_reason: m.i % 8 === 0 ? 'privacy_proxy' : 'prefetch' })
  if (m.i % 6 === 0) ev('click', m.at + 12 * MIN, { url: 'https://example.com/cart' })
  if (m.i % 10 === 0) ev('click', m.at + 3000, { url: 'https://example.com/cart', machine: 1, machine_reason: 'scanner' })
  if (m.i % 15 === 0) ev('unsubscribe', m.at + 30 * MIN)
  if (m.i % 9 === 0) ev('bounce', m.at + 2000, { bounce_type: m.i % 2 ? 'hard' : 'soft', provider: 'smtp' })
  if (m.i % 30 === 0) ev('complaint', m.at + HOUR)
}

const definition = (key: string, variants: [string, number][]) =>
  JSON.stringify({
    key,
    name: key,
    unit: 'userId',
    variants: variants.map(([k, weight]) => ({ key: k, weight, holdout: false, payload: {} })),
    primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7, inverse: false },
    secondaryMetrics: [],
    guardrailMetrics: [],
  })
const experiment = (key: string, variants: [string, number][], versions: { status: string; deleted?: number }[]) =>
  versions.forEach((v, i) =>
    rows.experiments!.push({
      key,
      definition: definition(key, variants),
      status: v.status,
      rolled_out: '',
      version: i + 1,
      updated_at: FROM - DAY + i * HOUR,
      started_at: FROM - DAY,
      stopped_at: null,
      deleted: v.deleted ?? 0,
    }),
  )
experiment(
  'cart-timing',
  [
    ['fast', 0.5],
    ['slow', 0.5],
  ],
  [{ status: 'draft' }, { status: 'running' }],
)
experiment(
  'skewed',
  [
    ['a', 0.5],
    ['b', 0.5],
  ],
  [{ status: 'running' }],
)
experiment(
  'three-arm',
  [
    ['a', 0.34],
    ['b', 0.33],
    ['c', 0.33],
  ],
  [{ status: 'running' }],
)
// A retired variant (weight 0) that still got units: balanced among the weighted arms, so no SRM.
experiment(
  'retired-arm',
  [
    ['a', 0.5],
    ['b', 0.5],
    ['c', 0],
  ],
  [{ status: 'running' }],
)
experiment(
  'old',
  [
    ['a', 0.5],
    ['b', 0.5],
  ],
  [{ status: 'running' }, { status: 'running', deleted: 1 }],
)

/** Units per experiment and variant, as seeded (before test accounts are left out). */
const exposures: Record<string, [string, number][]> = {
  'cart-timing': [
    ['fast', 101],
    ['slow', 99],
  ],
  skewed: [
    ['a', 260],
    ['b', 140],
  ],
  'three-arm': [
    ['a', 110],
    ['b', 100],
    ['c', 90],
  ],
  'retired-arm': [
    ['a', 100],
    ['b', 104],
    ['c', 200],
  ],
  old: [
    ['a', 300],
    ['b', 100],
  ],
}
let eventSeq = 0
for (const [key, arms] of Object.entries(exposures)) {
  let n = 0
  for (const [variant, count] of arms)
    for (let k = 0; k < count; k++) {
      const unit = `${key}-u${n++}`
      const firstAt = FROM + Math.floor(r() * 6 * DAY)
      rows.experiment_exposures!.push({ experiment_key: key, unit, variant, first_at: firstAt, context: '{}', rank: 1e15 - firstAt })
      // Exposed again later (another process): the first exposure counts.
      if (k % 10 === 0)
        rows.experiment_exposures!.push({
          experiment_key: key,
          unit,
          variant,
          first_at: firstAt + HOUR,
          context: '{}',
          rank: 1e15 - firstAt - HOUR,
        })
      if (r() < 0.35) {
        const at = firstAt + Math.floor(r() * 5 * DAY)
        rows.events!.push({
          message_id: `e${eventSeq++}`,
          source: 'test',
          type: 'track',
          event: 'Order Completed',
          name: '',
          user_id: unit,
          user_key: unit,
          timestamp: at,
          received_at: at + 500,
          properties: '{"revenue":42}',
          traits: '{}',
          context: '{}',
        })
      }
    }
}
// A test account exposed to cart-timing (it got a test send): left out of every experiment figure.
rows.experiment_exposures!.push({
  experiment_key: 'cart-timing',
  unit: 'qa-0',
  variant: 'fast',
  first_at: FROM + HOUR,
  context: '{}',
  rank: 1,
})

for (let k = 0; k < 300; k++) {
  const receivedAt = FROM + Math.floor(r() * 7 * DAY)
  const type = ['track', 'identify', 'page'][k % 3]!
  rows.events!.push({
    message_id: `e${eventSeq++}`,
    source: 'web',
    type,
    event: type === 'track' ? 'Product Viewed' : '',
    name: type === 'page' ? 'Home' : '',
    user_id: `u${k % 150}`,
    user_key: `u${k % 150}`,
    timestamp: receivedAt - Math.floor(r() * 10_000) + (k === 5 ? 60_000 : 0),
    received_at: receivedAt,
    properties: '{}',
    traits: '{}',
    context: '{}',
  })
}

for (let k = 0; k < 210; k++) {
  const cls = FALSE_TRIGGER_CLASSES[k % FALSE_TRIGGER_CLASSES.length]!
  rows.false_triggers!.push({
    at: FROM + Math.floor(r() * 6 * DAY),
    journey_id: JOURNEYS[k % 3],
    user_key: `u${k}`,
    message_id: `msg-${k}`,
    class: cls,
    evidence: JSON.stringify({ class: cls, trigger: `trigger-${k}`, event: { name: 'Order Completed', at: FROM + k * MIN } }),
  })
}
// In the last five minutes: a duplicate send in welcome (alerts) and a test account's run (does not).
rows.false_triggers!.push({
  at: TO - 2 * MIN,
  journey_id: 'welcome',
  user_key: 'u1',
  message_id: 'msg-dup',
  class: 'duplicate',
  evidence: '{"previous":"msg-1"}',
})
rows.false_triggers!.push({
  at: TO - MIN,
  journey_id: 'browse-abandonment',
  user_key: 'qa-1',
  message_id: 'msg-qa',
  class: 'test_account',
  evidence: '{}',
})

// The destinations outbox: records on their way to three destinations, each in its latest state.
// Every tenth record was first written pending and then moved on (a higher version): the report
// counts its latest state once.
const DESTINATIONS = ['crm', 'segment-prod', 'warehouse']
const OUTBOX_STATES = ['delivered', 'delivered', 'dead', 'pending', 'withheld'] as const
const RECORD_KINDS = ['segment_entered', 'segment_exited', 'sent', 'opened', 'clicked'] as const
/** Each record's latest state, as the destinations report must count it. */
const outboxFinal: { destination: string; state: (typeof OUTBOX_STATES)[number]; attempts: number; at: number }[] = []
for (let k = 0; k < 240; k++) {
  const destination = DESTINATIONS[k % DESTINATIONS.length]!
  const state = OUTBOX_STATES[k % OUTBOX_STATES.length]!
  const at = FROM + Math.floor(r() * 6 * DAY)
  const record = { id: `rec-${k}`, userKey: `u${k % 150}`, kind: RECORD_KINDS[k % RECORD_KINDS.length]!, at, data: { segmentId: 'vip' } }
  const attempts = state === 'pending' ? k % 3 : state === 'withheld' ? 0 : 1 + (k % 4)
  const base = {
    destination_id: destination,
    record_id: record.id,
    user_key: record.userKey,
    seq: k,
    at,
    kind: record.kind,
    payload: JSON.stringify(record),
    enqueued_at: at + 1000,
  }
  if (k % 10 === 0)
    rows.destination_outbox!.push({ ...base, state: 'pending', attempts: 0, last_error: '', updated_at: at + 1000, version: 2 * k + 1 })
  rows.destination_outbox!.push({
    ...base,
    state,
    attempts,
    last_error: state === 'dead' ? 'HTTP 400: invalid property' : '',
    updated_at: state === 'pending' ? at + 1000 : at + 1000 + Math.floor(r() * 10 * MIN),
    version: 2 * k + 2,
  })
  outboxFinal.push({ destination, state, attempts, at })
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface Result {
  meta: { name: string; type: string }[]
  data: Record<string, unknown>[]
}

const isTime = (t: string) => /^(Nullable\()?DateTime/.test(t)
const isString = (t: string) => /^(Nullable\(|LowCardinality\()*String\)*$/.test(t)
const isNumber = (t: string) => /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/.test(t)

const context = (variables: Record<string, VariableValue>): MacroContext => ({
  from: new Date(FROM),
  to: new Date(TO),
  intervalMs: INTERVAL_MS,
  variables,
})
const label = (c: SqlCheck) => `${c.source} · ${c.name} (${c.refId})`

function sqlTargets(json: unknown): { panel: string; target: Record<string, unknown> }[] {
  const out: { panel: string; target: Record<string, unknown> }[] = []
  for (const p of (json as { panels: { title: string; targets?: Record<string, unknown>[] }[] }).panels)
    for (const t of p.targets ?? [])
      if ((t.datasource as { uid?: string } | undefined)?.uid === CLICKHOUSE.uid) out.push({ panel: p.title, target: t })
  return out
}

// ---------------------------------------------------------------------------------------------

describe('dashboards as code: generated JSON and YAML', () => {
  it('builds seven dashboards with unique uids and titles, and six alert rules', () => {
    expect(build.dashboards.map((d) => d.json.uid)).toEqual([
      'nudge-journeys',
      'nudge-trigger-latency',
      'nudge-false-triggers',
      'nudge-experiments',
      'nudge-ingestion',
      'nudge-deliverability',
      'nudge-destinations',
    ])
    expect(new Set(build.dashboards.map((d) => d.json.title)).size).toBe(7)
    expect(build.alertGroup.rules?.map((r) => r.uid)).toEqual([
      'nudge-trigger-latency-slo',
      'nudge-false-trigger',
      'nudge-srm',
      'nudge-ingest-errors',
      'nudge-worker-failures',
      'nudge-routing-failures',
    ])
  })

  it('every panel has an id of its own, a data source, targets of that data source and a place on the grid', () => {
    for (const d of build.dashboards) {
      const json = JSON.parse(build.files.get(d.file)!) as { panels: any[]; templating: { list?: any[] } }
      const ids = json.panels.map((p) => p.id)
      expect(new Set(ids).size, d.file).toBe(ids.length)
      expect(
        ids.every((id) => Number.isInteger(id) && id > 0),
        d.file,
      ).toBe(true)
      const cells = new Set<string>()
      for (const p of json.panels) {
        const { x, y, w, h } = p.gridPos
        expect(x + w, `${d.file}: ${p.title}`).toBeLessThanOrEqual(24)
        expect(w > 0 && h > 0).toBe(true)
        for (let cx = x; cx < x + w; cx++)
          for (let cy = y; cy < y + h; cy++) {
            expect(cells.has(`${cx},${cy}`), `${d.file}: ${p.title} overlaps another panel`).toBe(false)
            cells.add(`${cx},${cy}`)
          }
        if (p.type === 'row') continue
        expect(p.title && p.description, `${d.file}: panel ${p.id}`).toBeTruthy()
        expect([CLICKHOUSE.uid, PROMETHEUS.uid], `${d.file}: ${p.title}`).toContain(p.datasource?.uid)
        expect(p.datasource.type).toBe(p.datasource.uid === CLICKHOUSE.uid ? CLICKHOUSE.type : PROMETHEUS.type)
        expect(p.targets.length, `${d.file}: ${p.title}`).toBeGreaterThan(0)
        expect(new Set(p.targets.map((t: any) => t.refId)).size).toBe(p.targets.length)
        for (const t of p.targets) {
          expect(t.datasource, `${d.file}: ${p.title}`).toEqual(p.datasource)
          if (t.datasource.uid === CLICKHOUSE.uid) {
            expect(t.editorType).toBe('sql')
            expect([0, 1]).toContain(t.format)
            expect(t.queryType).toBe(t.format === 0 ? 'timeseries' : 'table')
            expect(t.rawSql).toMatch(/^(SELECT|WITH)\b/)
          } else expect(t.expr).toBeTruthy()
        }
      }
      // Every variable a query or link uses is defined on the dashboard.
      const defined = new Set((json.templating.list ?? []).map((v) => v.name))
      const used = JSON.stringify(json.panels).match(/\$\{(\w+)[}:]|\$(?!__)[a-z_]+\b/g) ?? []
      for (const u of used) {
        const name = u.replace(/^\$\{?/, '').replace(/[}:]$/, '')
        if (name.startsWith('__')) continue
        expect(defined.has(name), `${d.file}: \${${name}} is not a dashboard variable`).toBe(true)
      }
    }
  })

  it('every ClickHouse target in the JSON is a declared query with its expected columns, and the other way round', () => {
    for (const d of build.dashboards) {
      const inJson = sqlTargets(d.json)
        .map((x) => `${x.panel}|${x.target.refId}|${x.target.rawSql}`)
        .sort()
      const declared = d.board.sql
        .filter((c) => c.kind === 'panel')
        .map((c) => `${c.name}|${c.refId}|${c.spec.sql}`)
        .sort()
      expect(inJson, d.file).toEqual(declared)
      for (const c of d.board.sql) expect(c.spec.columns.length, label(c)).toBeGreaterThan(0)
      for (const v of (d.json.templating?.list ?? []).filter((x) => x.type === 'query'))
        expect(
          d.board.sql.some((c) => c.kind === 'variable' && c.spec.sql === (v.query as { rawSql: string }).rawSql),
          `${d.file}: variable ${v.name}`,
        ).toBe(true)
    }
  })

  it('the provisioning YAML parses: data sources with the uids the dashboards use, a file provider, the alert rules', () => {
    const ds = parseYaml(build.files.get('provisioning/datasources/nudge.yaml')!)
    expect(ds.apiVersion).toBe(1)
    const ch = ds.datasources.find((x: any) => x.uid === CLICKHOUSE.uid)
    expect(ch).toMatchObject({
      type: CLICKHOUSE.type,
      jsonData: { host: 'ch.example.com', port: 8443, protocol: 'http', secure: true, username: 'grafana', defaultDatabase: 'nudge' },
    })
    expect(ch.secureJsonData.password).toBe('${CLICKHOUSE_PASSWORD}')
    expect(ds.datasources.find((x: any) => x.uid === PROMETHEUS.uid)).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' })

    const dash = parseYaml(build.files.get('provisioning/dashboards/nudge.yaml')!)
    expect(dash.providers[0]).toMatchObject({ type: 'file', folder: 'Nudge', options: { path: '/var/lib/grafana/dashboards/nudge' } })

    const alerting = parseYaml(build.files.get('provisioning/alerting/nudge.yaml')!)
    expect(alerting.apiVersion).toBe(1)
    expect(alerting.groups).toHaveLength(1)
    const group = alerting.groups[0]
    expect(group).toMatchObject({ orgId: 1, name: 'nudge', folder: 'Nudge', interval: '60s' })
    expect(group.rules).toHaveLength(6)
    for (const rule of group.rules) {
      expect(rule.uid && rule.title && rule.for !== undefined, rule.title).toBeTruthy()
      expect(['OK', 'NoData', 'Alerting', 'KeepLast']).toContain(rule.noDataState)
      expect(['OK', 'Error', 'Alerting', 'KeepLast']).toContain(rule.execErrState)
      expect(rule.annotations.summary).toBeTruthy()
      const refs = rule.data.map((q: any) => q.refId)
      expect(refs).toContain(rule.condition)
      for (const q of rule.data) {
        expect(q.model.refId).toBe(q.refId)
        if (q.datasourceUid === EXPRESSION.uid) {
          expect(['reduce', 'threshold', 'math']).toContain(q.model.type)
          expect(refs).toContain(q.model.expression)
        } else {
          expect([CLICKHOUSE.uid, PROMETHEUS.uid]).toContain(q.datasourceUid)
          expect(q.model.datasource.uid).toBe(q.datasourceUid)
          expect(q.relativeTimeRange.from).toBeGreaterThan(0)
          if (q.datasourceUid === CLICKHOUSE.uid) expect(q.model.format).toBe(1) // table: one number per row, labels from strings
        }
      }
      // Nothing in a provisioned rule is a builder's leftover.
      expect(JSON.stringify(rule)).not.toContain('_implementsDataqueryVariant')
    }
    // The latency rule compares p99 / SLO with 1: each journey's own SLO is in its SQL.
    const latency = group.rules.find((x: any) => x.uid === 'nudge-trigger-latency-slo')
    expect(latency.data.find((q: any) => q.refId === 'C').model.conditions[0].evaluator).toEqual({ type: 'gt', params: [1] })
    expect(latency.data.find((q: any) => q.refId === 'A').model.rawSql).toContain(`toFloat64(${SLO})`)
  })

  it('alert SQL uses only the server-side macros (no dashboard variables: alerts run without a browser)', () => {
    for (const c of alertSql) {
      expect(referencedVariables(c.spec.sql), label(c)).toEqual([])
      expect(c.spec.sql).not.toContain('$__conditionalAll')
      // What the server does with it: every macro expands to SQL (nothing of a `$` is left for a browser
      // to fill in), and the time macros become the alert's own window.
      const expanded = expandBackendMacros(c.spec.sql, context({}))
      expect(expanded, label(c)).not.toContain('$')
      if (/\$__(timeFilter|fromTime)\b/.test(c.spec.sql)) expect(expanded, label(c)).toContain(`toDateTime(${FROM / 1000})`)
      if (/\$__(timeFilter|toTime)\b/.test(c.spec.sql)) expect(expanded, label(c)).toContain(`toDateTime(${TO / 1000})`)
    }
  })

  it('every Prometheus query names metrics Nudge exports at /metrics', async () => {
    // Stand-ins that accept every listener and report zero for every number the metrics read.
    const fake = <T>(values: Record<string, unknown> = {}) =>
      new Proxy(values, {
        get: (target, key) => (key in target ? target[key as string] : typeof key === 'string' && /^(on|observe)/.test(key) ? () => {} : 0),
      }) as unknown as T
    const metrics = createMetrics({
      writer: fake<EventWriter>(),
      segments: fake<SegmentEngine>({ sweepStatus: { lagMs: null, lastDurationMs: null } }),
    })
    addJourneyMetrics(metrics.registry, { router: fake<TriggerRouter>(), deliverer: fake<Deliverer>() })
    createDestinationMetrics(metrics.registry)
    const exported = new Set<string>()
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name)
      if (m.type === ('histogram' as never)) for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s)
    }
    expect(metrics.registry).toBeInstanceOf(Registry)
    const exprs = [...build.dashboards.flatMap((d) => d.board.promql), ...build.alerts.promql]
    expect(exprs.length).toBeGreaterThan(5)
    // The Temporal worker's own metrics (TEMPORAL_METRICS_PORT; runtime/config.ts names this one).
    const temporal = new Set(['temporal_workflow_task_execution_failed'])
    for (const p of exprs) {
      const names = p.expr.match(/\bnudge_[a-z0-9_]+/g) ?? []
      const fromTemporal = p.expr.match(/\btemporal_[a-z0-9_]+/g) ?? []
      expect(names.length + fromTemporal.length, p.expr).toBeGreaterThan(0)
      for (const n of names) expect(exported.has(n), `${p.source} · ${p.name}: ${n}`).toBe(true)
      for (const n of fromTemporal) expect(temporal.has(n), `${p.source} · ${p.name}: ${n}`).toBe(true)
    }
  })

  it('the macro expander does what the plugin does, and refuses what it does not know', () => {
    const ctx = context({ journey: ['a', 'b'], one: 'x', every: ALL })
    expect(expandQuery('SELECT 1 WHERE $__conditionalAll(j IN (${journey}), $journey) AND k = ${one}', ctx)).toBe(
      "SELECT 1 WHERE j IN ('a','b') AND k = x",
    )
    expect(interpolateVariables('WHERE $__conditionalAll(j IN (${every}), $every)', { every: ALL })).toBe('WHERE 1=1')
    expect(expandBackendMacros('$__timeFilter(at) / $__interval_s / $__timeInterval(at) / $__fromTime / $__toTime', ctx)).toBe(
      `at >= toDateTime(${FROM / 1000}) AND at <= toDateTime(${TO / 1000}) / 3600 / toStartOfInterval(toDateTime(at), INTERVAL 3600 second) / toDateTime(${FROM / 1000}) / toDateTime(${TO / 1000})`,
    )
    expect(() => expandQuery('SELECT $__timeFilter_ms(at)', ctx)).toThrow(/not one the dashboards use/)
    expect(() => expandQuery('SELECT ${nope}', ctx)).toThrow(/no value/)
    expect(() => expandQuery('SELECT ${every}', ctx)).toThrow(/conditionalAll/)
    expect(() => expandQuery('SELECT $one', ctx)).toThrow(/bare variable/)
  })
})

describe('dashboards as code: every query on the real engine', () => {
  const data = tempDataDir()
  let store: Store
  const run = async (query: string): Promise<Result> =>
    (await (await store.client.query({ query, format: 'JSON' })).json()) as unknown as Result

  beforeAll(async () => {
    store = await openMigratedStore(data.dir)
    for (const [table, values] of Object.entries(rows)) {
      expect(values.length, table).toBeGreaterThan(0)
      await store.client.insert({ table, values, format: 'JSONEachRow' })
    }
  })
  afterAll(async () => {
    await store?.close()
    data.remove()
  })

  it('seeded a few hundred rows into each table the panels read', async () => {
    for (const table of [
      'journey_runs',
      'journey_steps',
      'send_ledger',
      'message_events',
      'experiment_exposures',
      'events',
      'false_triggers',
      'destination_outbox',
    ])
      expect(
        Number((await selectRows<{ n: number }>(store.client, `SELECT count() AS n FROM ${table}`))[0]!.n),
        table,
      ).toBeGreaterThanOrEqual(200)
  })

  const cases = Object.keys(SCENARIOS).flatMap((scenario) => panelSql.map((c) => [`${scenario} · ${label(c)}`, scenario, c] as const))
  it.each(cases)('%s', async (_name, scenario, c) => {
    const expanded = expandQuery(c.spec.sql, context(SCENARIOS[scenario]!))
    const res = await run(expanded)
    const types = Object.fromEntries(res.meta.map((m) => [m.name, m.type]))
    expect(
      res.meta.map((m) => m.name),
      `columns of:\n${expanded}`,
    ).toEqual(c.spec.columns)
    // Seeded data reaches every panel, in both settings of the variables.
    expect(res.data.length, `no rows from:\n${expanded}`).toBeGreaterThan(0)
    if (c.kind === 'variable') {
      expect(res.meta).toHaveLength(1)
      return
    }
    if (c.spec.format === 'time_series') {
      // The plugin's long-to-wide conversion: a time column first, numbers as values, strings as labels, in time order.
      const [time, ...rest] = res.meta
      expect(isTime(time!.type), `${time!.name}: ${time!.type}`).toBe(true)
      expect(rest.some((m) => isNumber(m.type))).toBe(true)
      for (const m of rest) expect(isNumber(m.type) || isString(m.type), `${m.name}: ${m.type}`).toBe(true)
      const times = res.data.map((row) => String(row[time!.name]))
      expect(times).toEqual([...times].sort())
    }
    if (c.panelType === 'stat') {
      expect(res.data).toHaveLength(1)
      for (const m of res.meta) expect(isNumber(m.type), `${m.name}: ${m.type}`).toBe(true)
    }
    if (c.panelType === 'barchart') {
      expect(isString(types[c.xField!]!)).toBe(true)
      expect(res.meta.some((m) => isNumber(m.type))).toBe(true)
    }
  })

  it('the journey variable lists the journeys; the experiment variable the live experiments, not the deleted one', async () => {
    const values = async (source: string, name: string) => {
      const c = panelSql.find((x) => x.source === source && x.name === `variable ${name}`)!
      return (await run(expandQuery(c.spec.sql, context({})))).data.map((row) => row.value)
    }
    expect(await values('nudge-journeys', 'journey')).toEqual(JOURNEYS.slice().sort())
    expect((await values('nudge-experiments', 'experiment')).slice().sort()).toEqual(['cart-timing', 'retired-arm', 'skewed', 'three-arm'])
    expect(await values('nudge-destinations', 'destination')).toEqual(DESTINATIONS)
  })

  it('figures on the panels match the seed: entries counted once, test sends left out, opens are people', async () => {
    const one = async (source: string, name: string, vars = SCENARIOS.all!) => {
      const c = panelSql.find((x) => x.source === source && x.name === name)!
      return (await run(expandQuery(c.spec.sql, context(vars)))).data
    }
    const realRuns = rows.journey_runs!.filter((x) => x.phase === 'started' && x.is_test === 0 && (x.at as number) <= TO)
    expect((await one('nudge-journeys', 'Entries'))[0]!.entries).toBe(
      new Set(realRuns.map((x) => `${x.workflow_id}|${x.trigger_message_id}`)).size,
    )
    const realSends = sentMessages.filter((m) => !m.test)
    expect((await one('nudge-journeys', 'Sends'))[0]!.sends).toBe(realSends.length)
    expect((await one('nudge-deliverability', 'Sent'))[0]!.sent).toBe(realSends.length)
    const opened = new Set(
      rows.message_events!.filter((e) => e.event === 'open' && e.machine === 0 && e.is_test === 0).map((e) => e.message_id),
    ).size
    expect((await one('nudge-deliverability', 'Engagement rates'))[0]!.open_rate).toBeCloseTo(opened / realSends.length, 9)
    const units = (await one('nudge-experiments', 'Units per variant')).map((x) => [x.variant, x.units])
    expect(units).toEqual([
      ['fast', 101],
      ['slow', 99],
    ]) // the test account's exposure left out
    const picked = await one('nudge-journeys', 'Journeys', SCENARIOS.picked!)
    expect(picked.map((x) => x.journey).sort()).toEqual(['cart-abandonment', 'welcome'])
  })

  it('the destinations report counts each record once in its latest state, as GET /api/destinations/report does', async () => {
    const report = panelSql.find((x) => x.source === 'nudge-destinations' && x.name === 'Destinations report')!
    const table = async (vars: Record<string, VariableValue>) => (await run(expandQuery(report.spec.sql, context(vars)))).data
    const count = (d: string, state: string) => outboxFinal.filter((x) => x.destination === d && x.state === state).length
    const want = (d: string) => [d, count(d, 'delivered'), count(d, 'dead'), count(d, 'withheld'), count(d, 'pending')]
    const figures = (data: Record<string, unknown>[]) =>
      data.map((x) => [x.destination, Number(x.delivered), Number(x.dead_lettered), Number(x.withheld), Number(x.pending)])
    const all = await table(SCENARIOS.all!)
    expect(figures(all)).toEqual(DESTINATIONS.map(want))
    expect(figures(await table(SCENARIOS.picked!))).toEqual(['crm', 'segment-prod'].map(want))
    // Retried attempts as the API counts them: a pending record's attempts all failed; a finished one's last did not.
    const retried = (d: string) =>
      outboxFinal
        .filter((x) => x.destination === d)
        .reduce((n, x) => n + (x.state === 'pending' ? x.attempts : Math.max(0, x.attempts - 1)), 0)
    expect(all.map((x) => Number(x.retried))).toEqual(DESTINATIONS.map(retried))
    // The same figures as the API's report (destinations/destinationReport.ts) over the same outbox; the lag within a few seconds.
    const api = await destinationReport(store.client)
    expect(
      all.map((x) => [
        x.destination,
        Number(x.delivered),
        Number(x.retried),
        Number(x.dead_lettered),
        Number(x.withheld),
        Number(x.pending),
      ]),
    ).toEqual(api.map((x) => [x.destinationId, x.delivered, x.retried, x.deadLettered, x.withheld, x.pending]))
    for (const [i, x] of api.entries()) {
      expect(x.lagMs, x.destinationId).toBeGreaterThan(0)
      expect(Math.abs(Number(all[i]!.lag_s) * 1000 - x.lagMs), x.destinationId).toBeLessThan(5000)
    }
    // Over the week, the per-destination series add up to the same delivered and dead-lettered records.
    const series = panelSql.find((x) => x.source === 'nudge-destinations' && x.name === 'Records · ${destination}')!
    const points = (await run(expandQuery(series.spec.sql, context({ ...SCENARIOS.all!, destination: ['warehouse'] })))).data
    expect(points.reduce((n, p) => n + Number(p.delivered), 0)).toBe(count('warehouse', 'delivered'))
    expect(points.reduce((n, p) => n + Number(p.dead_lettered), 0)).toBe(count('warehouse', 'dead'))
  })

  it('the SRM p-value in SQL agrees with the stats engine: exactly for two arms, closely for three', async () => {
    const panel = panelSql.find((x) => x.source === 'nudge-experiments' && x.name === 'SRM p-value')!
    // retired-arm: a zero-weight arm is left out, units and all, so the test is over two arms.
    const weights: Record<string, number[]> = {
      'cart-timing': [0.5, 0.5],
      skewed: [0.5, 0.5],
      'three-arm': [0.34, 0.33, 0.33],
      'retired-arm': [0.5, 0.5, 0],
    }
    for (const [key, w] of Object.entries(weights)) {
      const got = (await run(expandQuery(panel.spec.sql, context({ ...SCENARIOS.all!, experiment: key })))).data[0]!.p_value as number
      // analytics/stats/srm.ts over the same units (cart-timing: the test account is not one of them).
      const want = srm(
        exposures[key]!.map(([, n]) => n),
        w,
      ).pValue
      if (w.filter((x) => x > 0).length === 2) expect(Math.abs(got - want) / want, `${key}: ${got} vs ${want}`).toBeLessThan(1e-6)
      else expect(Math.abs(got - want), `${key}: ${got} vs ${want}`).toBeLessThan(0.01)
    }
  })

  /** Runs every alert rule's SQL of a build over its window and applies its threshold: what fires, by rule. */
  async function fires(b: typeof build): Promise<Record<string, string[]>> {
    const fired: Record<string, string[]> = {}
    for (const c of b.alerts.sql as AlertSqlCheck[]) {
      const expanded = expandQuery(c.spec.sql, {
        from: new Date(TO - c.windowSeconds * 1000),
        to: new Date(TO),
        intervalMs: 1000,
        variables: {},
      })
      const res = await run(expanded)
      expect(
        res.meta.map((m) => m.name),
        label(c),
      ).toEqual(c.spec.columns)
      const numeric = res.meta.filter((m) => isNumber(m.type))
      expect(numeric, `${label(c)}: Grafana alerting needs exactly one number per row`).toHaveLength(1)
      for (const m of res.meta) if (m !== numeric[0]) expect(isString(m.type), `${m.name}: ${m.type}`).toBe(true)
      const rule = b.alertGroup.rules!.find((x) => x.uid === c.source)!
      const cond = rule.data.find((q) => q.refId === rule.condition)!.model as unknown as {
        expression: string
        conditions: { evaluator: { type: 'gt' | 'lt'; params: number[] } }[]
      }
      expect(cond.expression).toBe(c.refId)
      const { type, params } = cond.conditions[0]!.evaluator
      const value = numeric[0]!.name
      fired[c.source] = res.data
        .filter((row) => (type === 'gt' ? Number(row[value]) > params[0]! : Number(row[value]) < params[0]!))
        .map((row) =>
          res.meta
            .filter((m) => m !== numeric[0])
            .map((m) => String(row[m.name]))
            .join('/'),
        )
    }
    return fired
  }

  it('the latency alert holds each journey to its own SLO (TRIGGER_LATENCY_SLOS), the rest to the default', async () => {
    // cart-abandonment's 10 minutes are within its own 15; welcome's minute breaks its 30 s.
    const own = buildAll({ sloSeconds: SLO, sloByJourney: { 'cart-abandonment': 900, welcome: 30 } })
    expect((await fires(own))['nudge-trigger-latency-slo']).toEqual(['welcome'])
    // Unusable entries (zero, unparsable) are left out rather than dividing by zero and firing for ever.
    const unusable = buildAll({ sloSeconds: 900, sloByJourney: { welcome: 0, 'cart-abandonment': Number.NaN } })
    expect((await fires(unusable))['nudge-trigger-latency-slo']).toEqual([])
    const tight = buildAll({ sloSeconds: 30, sloByJourney: { "o'dd\\id": 1 } })
    expect((await fires(tight))['nudge-trigger-latency-slo']).toEqual(['cart-abandonment', 'welcome'])
  })

  it('alert rules: their queries run over their own window, return labels and one number, and fire on the seeded trouble only', async () => {
    const fired = await fires(build)
    expect(fired).toEqual({
      'nudge-trigger-latency-slo': ['cart-abandonment'],
      'nudge-false-trigger': ['welcome/duplicate'],
      'nudge-srm': ['skewed'],
    })
    // 'old' is deleted; 'cart-timing', 'three-arm' and 'retired-arm' (its zero-weight arm left out) are balanced; all have at least the minimum units.
    expect(Object.values(exposures).every((arms) => arms.reduce((n, [, k]) => n + k, 0) >= SRM_MIN_UNITS)).toBe(true)
  })

  it('the demo export writes every table the dashboards read as a Native file that loads back whole', async () => {
    const dir = join(data.dir, 'export')
    const counts = await exportTables(store.client, dir)
    expect(Object.keys(counts)).toEqual([...DASHBOARD_TABLES])
    for (const table of DASHBOARD_TABLES) {
      // (Replacing tables may have collapsed versions on insert: the store's count is the truth.)
      const [stored] = (await run(`SELECT count() AS n FROM ${table}`)).data
      expect(counts[table], table).toBe(Number(stored!.n))
      expect(counts[table], table).toBeGreaterThan(0)
      const [back] = (await run(`SELECT count() AS n FROM file('${join(dir, `${table}.native`)}', 'Native')`)).data
      expect(Number(back!.n), table).toBe(counts[table])
    }
    expect(importCommands(dir)[0]).toMatch(/INSERT%20INTO%20journeys%20FORMAT%20Native/)
  })
})

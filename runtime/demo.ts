import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { collectReport } from '../analytics/reports/collectReport.js'
import { falseTriggerReport } from '../analytics/reports/falseTriggers.js'
import { renderHtmlReport } from '../analytics/reports/htmlReport.js'
import { triggerLatency } from '../analytics/reports/triggerLatency.js'
import { REMINDER_DELAY_FLAG, reminderTimingExperiment } from '../experiments/examples.js'
import { installExamples } from '../scripts/install-examples.js'
import { runSimulation } from '../simulator/run.js'
import { createLogger } from './log.js'
import { reportLinks, startNudge } from './nudge.js'
import { configOrExit } from './processLifecycle.js'
import { startDevServer } from './temporalDevServer.js'
import { ensureTemporalCli } from './temporalCli.js'

/**
 * `npm run demo` — the whole of Nudge on this machine: the Temporal dev server with its UI, the
 * embedded engine, the worker and the API; the seed's journeys with the reminder-timing
 * experiment (15 min vs 1 h vs holdout) compressed through its flag; simulated shoppers through
 * the public API; then the experiment's results next to the simulated truth, trigger latency, the
 * false-trigger report, and an HTML report. Nudge keeps running afterwards (Ctrl-C stops it);
 * DEMO_EXIT=1 stops when done. DEMO_SHOPPERS (150), DEMO_SEED (7), DEMO_MINUTES_PER_SECOND (4).
 */
const SHOPPERS = Number(process.env.DEMO_SHOPPERS ?? 150)
const SEED = Number(process.env.DEMO_SEED ?? 7)
const SPEED = Number(process.env.DEMO_MINUTES_PER_SECOND ?? 4)

const config = configOrExit()
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL)
const say = (line = '') => process.stdout.write(`${line}\n`)
const dev = config.TEMPORAL_ADDRESS
  ? undefined
  : await startDevServer({ cliPath: await ensureTemporalCli((l) => say(l)), port: config.TEMPORAL_PORT, uiPort: config.TEMPORAL_UI_PORT, dbFile: resolve(join(config.DATA_DIR, 'temporal', 'temporal.db')), namespace: config.TEMPORAL_NAMESPACE })
const nudge = await startNudge({ config, role: 'all', temporalAddress: config.TEMPORAL_ADDRESS ?? dev!.address, log })
const base = nudge.url!
const adminKey = config.ADMIN_API_KEY
const writeKey = [...config.writeKeys.keys()][0]!
say(`Nudge is running: API ${base} · Temporal UI ${dev?.uiUrl ?? config.TEMPORAL_ADDRESS}`)

// The timing experiment with its delays compressed like the simulated clock: 15 min and 1 h of
// shopper time become 15/SPEED and 60/SPEED seconds. Installed before the seed examples, so
// theirs (with real delays) find these keys taken and leave them.
const seconds = (minutes: number) => `${(minutes / SPEED).toFixed(2)}s`
const admin = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
    if (!r.ok && r.status !== 409) throw new Error(`${path}: ${r.status} ${await r.text()}`)
  })
await admin('/api/experiments', {
  ...reminderTimingExperiment,
  variants: reminderTimingExperiment.variants.map((v) => ('payload' in v ? { ...v, payload: { flags: { [REMINDER_DELAY_FLAG]: seconds(v.key === 'm15' ? 15 : 60) } } } : v)),
  primaryMetric: { event: 'Order Completed', kind: 'conversion', windowDays: 7, name: 'conversion' },
  secondaryMetrics: [{ event: 'Order Completed', kind: 'sum', property: 'revenue', windowDays: 7, name: 'revenue' }],
})
await admin(`/api/experiments/${reminderTimingExperiment.key}/start`, {})
await admin('/api/flags', { key: REMINDER_DELAY_FLAG, type: 'duration', defaultValue: seconds(60), rules: [{ id: 'timing', experiment: reminderTimingExperiment.key }] })
await installExamples(base, adminKey)
say(`Seed journeys installed; reminder delays compressed to ${seconds(15)} (15 min) and ${seconds(60)} (1 h).`)

const started = Date.now()
say(`Simulating ${SHOPPERS} shoppers (seed ${SEED}, ${SPEED} simulated minutes per second)…`)
const summary = await runSimulation({
  url: base,
  writeKey,
  adminKey,
  scenario: { seed: SEED, shoppers: SHOPPERS, timeScale: { minutesPerSecond: SPEED }, races: { testAccount: { rate: 0.02, ids: config.TEST_USER_IDS } } },
  progress: true,
})
await new Promise((r) => setTimeout(r, 3000))
await nudge.falseTriggers.check()
const until = Date.now()
const range = { from: started - 60_000, until }

say('')
say(`Simulation: ${summary.events.sent} events, ${summary.mail.reminders} reminders seen, ${summary.mail.opened} opened, ${summary.mail.clicked} clicked.`)
say('')
say(`Experiment ${reminderTimingExperiment.key} — relative lift vs h1 (95 % interval) and the simulated truth:`)
const results = (await (await fetch(`${base}/api/experiments/${reminderTimingExperiment.key}/results?overTime=false`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as any
const truthArm = (name: string) => summary.groundTruth.arms.find((a) => a.name === (name === 'holdout' ? 'none' : name))?.expectedConversion
const control = truthArm('h1')
const truth: Record<string, number> = {}
for (const m of results.metrics as { metric: { name?: string }; comparisons: { arm: string; effect: number | null; ci: [number | null, number | null] | null }[] }[]) {
  for (const c of m.comparisons) {
    const t = m.metric.name === 'conversion' && control ? (truthArm(c.arm) ?? NaN) / control - 1 : undefined
    if (t !== undefined && Number.isFinite(t)) truth[c.arm] = t
    const fmt = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`)
    say(`  ${(m.metric.name ?? (m.metric as { event?: string }).event ?? '').padEnd(11)} ${c.arm.padEnd(8)} ${fmt(c.effect)} [${fmt(c.ci?.[0] ?? null)}, ${fmt(c.ci?.[1] ?? null)}]${t !== undefined && Number.isFinite(t) ? `   truth ${fmt(t)}` : ''}`)
  }
}
say(`  decision: ${results.decision.hint} — ${results.decision.reason}`)

const latency = await triggerLatency(nudge.reportsClient, { ...range, slo: config.latencySlo })
say('')
say('Trigger latency, event received → run started (ms):')
for (const j of latency.journeys) if (j.receivedToStarted) say(`  ${j.journey.padEnd(22)} p50 ${j.receivedToStarted.p50} · p90 ${j.receivedToStarted.p90} · p99 ${j.receivedToStarted.p99}   SLO breaches ${j.slo.breaches}/${j.slo.sends}`)

const detect = nudge.falseTriggerOptions()
const ft = await falseTriggerReport(nudge.reportsClient, { ...detect, ...range })
say('')
say(`False triggers: ${ft.falseTriggers} of ${ft.sends} sends (${(ft.rate * 100).toFixed(2)} %); injected races: ${JSON.stringify(summary.races)}`)
for (const [cls, n] of Object.entries(ft.counts)) if (n) say(`  ${cls.padEnd(24)} ${n}`)

const html = renderHtmlReport(
  await collectReport({ client: nudge.reportsClient, results: nudge.results, experimentKeys: [reminderTimingExperiment.key], slo: config.latencySlo, detect, ...range, truth: { [reminderTimingExperiment.key]: { conversion: truth } }, links: reportLinks(config, base) }),
)
const file = resolve(join(config.DATA_DIR, 'report.html'))
writeFileSync(file, html)
say('')
say(`Report: file://${file}`)
say('Where to look next:')
for (const l of reportLinks(config, base)) say(`  ${l.label}: ${l.url}`)

if (process.env.DEMO_EXIT) {
  await nudge.stop()
  await dev?.stop()
  process.exit(0)
}
say('Nudge keeps running; Ctrl-C stops it.')
process.once('SIGINT', () => void nudge.stop().then(() => dev?.stop()).then(() => process.exit(0)))

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { collectReport } from '../analytics/reports/collectReport.js'
import { falseTriggerReport } from '../analytics/reports/falseTriggers.js'
import { journeyFunnel } from '../analytics/reports/funnel.js'
import { renderHtmlReport } from '../analytics/reports/htmlReport.js'
import { type ResultsForLines, liftLines } from '../analytics/reports/liftLines.js'
import { triggerLatency } from '../analytics/reports/triggerLatency.js'
import { buildAll, writeBuild } from '../dashboards/build.js'
import { exportTables, importCommands } from '../dashboards/exportStore.js'
import { adminPost, installExamples } from './installExamples.js'
import { planSimulation } from './simulator/model.js'
import { runSimulation } from './simulator/run.js'
import { demoDefinitions, demoScenario, demoTruth } from './demoScenario.js'
import { portInUse } from '../runtime/freePort.js'
import { createLogger } from '../core/log.js'
import { reportLinks, startNudge } from '../runtime/nudge.js'
import { configOrExit, stopOnSignals } from '../runtime/processLifecycle.js'
import { devServerSteps, embeddedDevServerOptions } from '../runtime/temporal/embeddedDevServer.js'
import { startDevServer } from '../runtime/temporal/temporalDevServer.js'
import { ensureTemporalCli } from '../runtime/temporal/temporalCli.js'
import { brokerSteps, startLocalBroker } from '../runtime/kafka/localBroker.js'
import { kafkaCaughtUp } from './demoKafka.js'

/**
 * `npm run demo` — the whole of Nudge on this machine: the Temporal dev server with its UI, the
 * embedded engine, the worker and the API; the seed's five journeys, every delay compressed
 * through its duration flag, with two experiments on the cart reminder — timing (15 min vs 1 h vs
 * holdout) and content (default vs urgency subject) — and one on browse abandonment (tailored
 * offer vs social proof); simulated shoppers through the public API who exercise every trigger;
 * then each experiment's results next to the truth for those shoppers, trigger latency, each
 * journey's funnel, the false-trigger report, and an HTML report. Nudge keeps running afterwards
 * (Ctrl-C stops it); DEMO_EXIT=1 stops when done.
 * DEMO_SHOPPERS (800: about 4½ minutes), DEMO_SEED (7), DEMO_MINUTES_PER_SECOND (6),
 * DEMO_SHOPPERS_PER_SECOND (4: faster arrivals outrun 2 cores and blur the arms), DEMO_DATA_DIR
 * (.data/demo, emptied at start), DEMO_OPEN=0 (do not open the report in a browser), DEMO_RUN_ID
 * (fixes the user ids, so the experiment arms are the same run after run; by default each run differs).
 * DEMO_KAFKA=1: INGEST_MODE=kafka — the API acknowledges by producing to Kafka and an in-process
 * consumer stores; a local single-node broker runs unless KAFKA_BROKERS names one (docs/kafka.md).
 */
const SHOPPERS = Number(process.env.DEMO_SHOPPERS ?? 800)
const SEED = Number(process.env.DEMO_SEED ?? 7)
const SPEED = Number(process.env.DEMO_MINUTES_PER_SECOND ?? 6)

// Every demo starts from an empty store and Temporal history: results are this run's shoppers only.
// Another demo (or Nudge) still running would lose its files: refuse instead.
const DEMO_DIR = process.env.DEMO_DATA_DIR ?? join('.data', 'demo')
process.env.DATA_DIR = DEMO_DIR
// The demo's hours pass in seconds: a frequency cap in real hours (the default, 1 per 16 h) would
// hold every shopper's second mail (the browse offer after a cart reminder) past the end. The
// printed truth assumes no cap; FREQUENCY_CAP set here is kept, and said.
const capped = !!process.env.FREQUENCY_CAP
process.env.FREQUENCY_CAP ??= ''
if (process.env.DEMO_KAFKA === '1') process.env.INGEST_MODE = 'kafka'
const config = configOrExit()

for (const port of [config.PORT, ...(config.TEMPORAL_ADDRESS ? [] : [config.TEMPORAL_PORT, config.TEMPORAL_UI_PORT])])
  if (await portInUse(port)) {
    process.stderr.write(`Port ${port} is in use (another demo or Nudge?). Stop it, or set PORT / TEMPORAL_PORT / TEMPORAL_UI_PORT.\n`)
    process.exit(1)
  }
// Only a directory a demo made (it holds the marker), or an empty or missing one, is emptied.
const MARKER = join(DEMO_DIR, '.nudge-demo')
if (existsSync(DEMO_DIR) && readdirSync(DEMO_DIR).length > 0 && !existsSync(MARKER)) {
  process.stderr.write(`${DEMO_DIR} is not a demo's data directory (no .nudge-demo in it): remove it, or choose another DEMO_DATA_DIR.\n`)
  process.exit(1)
}
rmSync(DEMO_DIR, { recursive: true, force: true })
mkdirSync(DEMO_DIR, { recursive: true })
writeFileSync(MARKER, 'Made by npm run demo: emptied at the next demo.\n')
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL)
const say = (line = '') => process.stdout.write(`${line}\n`)
const dev = config.TEMPORAL_ADDRESS
  ? undefined
  : await startDevServer(embeddedDevServerOptions(config, await ensureTemporalCli((l) => say(l))))
const broker = await startLocalBroker(config, say)
const nudge = await startNudge({ config, role: 'all', temporalAddress: config.TEMPORAL_ADDRESS ?? dev!.address, log })
const base = nudge.url!
const adminKey = config.ADMIN_API_KEY
const writeKey = [...config.writeKeys.keys()][0]!
say(`Nudge is running: API ${base} · Temporal UI ${dev?.uiUrl ?? config.TEMPORAL_ADDRESS}`)
if (config.INGEST_MODE === 'kafka')
  say(
    `Events flow through Kafka: API → ${config.KAFKA_TOPIC} on ${config.KAFKA_BROKERS!.join(',')} → consumer group ${config.KAFKA_GROUP_ID} → store`,
  )

// The experiments, the delay flags and the cart journey with its content experiment, every delay
// compressed like the simulated clock, installed before the seed examples: theirs (with real
// delays) find these keys taken and leave them. The other journeys are the seed's own.
const demo = demoDefinitions(SPEED)
const experiments = [demo.timing, demo.content, demo.browse]
const admin = adminPost(base, adminKey)
for (const e of experiments) {
  await admin('/api/experiments', e)
  await admin(`/api/experiments/${e.key}/start`, {})
}
for (const f of [demo.flag, ...demo.delayFlags]) await admin('/api/flags', f)
await admin('/api/journeys', demo.journey)
await installExamples(base, adminKey)
say(`Seed journeys installed, their delays compressed through their flags (${SPEED} minutes of shopper time a second):`)
say(
  `  cart-abandonment      ${demo.flag.key} = ${demo.delays.m15} (15 min) vs ${demo.delays.h1} (1 h) vs holdout, × content default vs urgency`,
)
for (const f of demo.delayFlags) say(`  ${f.key.split('.')[0]!.replace(/_/g, '-').padEnd(21)} ${f.key} = ${f.defaultValue}`)
say('  post-purchase-loyalty on a second visit · re-engagement on entering inactive-30d')
if (capped) say(`FREQUENCY_CAP=${process.env.FREQUENCY_CAP}: second mails may wait past the end; the printed truth assumes no cap.`)

const started = Date.now()
say(`Simulating ${SHOPPERS} shoppers (seed ${SEED}, ${SPEED} simulated minutes per second)…`)
const simOptions = {
  url: base,
  writeKey,
  adminKey,
  scenario: {
    ...demoScenario({
      seed: SEED,
      shoppers: SHOPPERS,
      minutesPerSecond: SPEED,
      testIds: config.TEST_USER_IDS,
      ...(process.env.DEMO_SHOPPERS_PER_SECOND ? { shoppersPerSecond: Number(process.env.DEMO_SHOPPERS_PER_SECOND) } : {}),
    }),
    // DEMO_RUN_ID fixes the user ids (and so every experiment arm) for a reproducible run.
    ...(process.env.DEMO_RUN_ID ? { runId: process.env.DEMO_RUN_ID } : {}),
  },
  progress: true,
}
const summary = await runSimulation(simOptions)
// The last reminders' engagement and purchases are in flight for a moment after the simulator stops.
await new Promise((r) => setTimeout(r, 3000))
if (config.INGEST_MODE === 'kafka') await kafkaCaughtUp(config, say)
await nudge.falseTriggers.check()
const until = Date.now()
const range = { from: started - 60_000, until }

say('')
say(
  `Simulation: ${summary.events.sent} events, ${summary.mail.reminders} reminders seen, ${summary.mail.opened} opened, ${summary.mail.clicked} clicked (${((Date.now() - started) / 1000).toFixed(0)} s).`,
)
const truth = demoTruth(summary.scenario, planSimulation(summary.scenario, summary.runId), (e, u) => nudge.experiments.peek(e, u).variant)
for (const e of experiments) {
  const control = e.variants[0]!.key
  say('')
  say(`Experiment ${e.key} — relative lift vs ${control} (95 % interval), and the truth for these shoppers:`)
  const results = (await (
    await fetch(`${base}/api/experiments/${e.key}/results?overTime=false`, { headers: { authorization: `Bearer ${adminKey}` } })
  ).json()) as ResultsForLines & { decision: { hint: string; reason: string } }
  for (const line of liftLines(results, truth[e.key])) say(line)
  say(`  decision: ${results.decision.hint} — ${results.decision.reason}`)
}

const latency = await triggerLatency(nudge.reportsClient, { ...range, slo: config.latencySlo })
say('')
say('Trigger latency, event received → run started (ms):')
for (const j of latency.journeys)
  if (j.receivedToStarted)
    say(
      `  ${j.journey.padEnd(22)} p50 ${j.receivedToStarted.p50} · p90 ${j.receivedToStarted.p90} · p99 ${j.receivedToStarted.p99}   SLO breaches ${j.slo.breaches}/${j.slo.sends}`,
    )

const funnel = await journeyFunnel(nudge.reportsClient, range)
say('')
say(
  'Journey funnel (runs entered → sent → opened → clicked → converted: bought after the message; and runs ended on their exit event first):',
)
for (const f of funnel)
  say(
    `  ${f.journey.padEnd(22)} ${String(f.entered).padStart(4)} → ${String(f.sent).padStart(4)} → ${String(f.opened).padStart(4)} → ${String(f.clicked).padStart(4)} → ${String(f.converted).padStart(4)}   exited first ${f.exited}`,
  )

const detect = nudge.falseTriggerOptions()
const ft = await falseTriggerReport(nudge.reportsClient, { ...detect, ...range })
say('')
say(
  `False triggers: ${ft.falseTriggers} of ${ft.sends} sends (${(ft.rate * 100).toFixed(2)} %); injected races: ${JSON.stringify(summary.races)}`,
)
for (const [cls, n] of Object.entries(ft.counts)) if (n) say(`  ${cls.padEnd(24)} ${n}`)

const html = renderHtmlReport(
  await collectReport({
    client: nudge.reportsClient,
    results: nudge.results,
    experimentKeys: experiments.map((e) => e.key),
    slo: config.latencySlo,
    detect,
    ...range,
    truth,
    links: reportLinks(config, base),
  }),
)
const file = resolve(join(config.DATA_DIR, 'report.html'))
writeFileSync(file, html)

// Grafana: the dashboards and alert rules as code with this Nudge's SLOs, and the data they read
// exported for a ClickHouse server (Grafana cannot reach the embedded engine).
const grafana = resolve(join(DEMO_DIR, 'grafana'))
const perJourney = Object.fromEntries(Object.entries(config.latencySlo.byJourney).map(([j, ms]) => [j, ms / 1000]))
writeBuild(buildAll({ sloSeconds: config.latencySlo.default / 1000, sloByJourney: perJourney }), grafana)
const exported = await exportTables(nudge.reportsClient, join(grafana, 'data'))
const loader = join(grafana, 'load-into-clickhouse.sh')
writeFileSync(
  loader,
  [
    '#!/bin/sh',
    "# Loads this demo's data into a ClickHouse server whose tables exist (start Nudge once with CLICKHOUSE_URL pointing at it).",
    '# Needs CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD.',
    'set -e',
    ...importCommands(join(grafana, 'data')),
    '',
  ].join('\n'),
  { mode: 0o755 },
)

say('')
say(`Report: file://${file}${openInBrowser(file) ? ' (opening it in your browser)' : ''}`)
say('Where to look next:')
for (const l of reportLinks(config, base)) say(`  ${l.label}: ${l.url}`)
say(
  `  Grafana provisioning for this run: ${join(grafana, 'provisioning')} (dashboards in ${join(grafana, 'dashboards')}); its data: ${Object.values(exported).reduce((a, b) => a + b, 0)} rows in ${join(grafana, 'data')}, loaded by ${loader}`,
)

// Nudge's shutdown plan, then the dev server last (as `npm start` stops): a step that fails or
// overruns is logged and the exit code says so; a second Ctrl-C forces the exit.
const shutdown = () => nudge.stop([...brokerSteps(broker), ...devServerSteps(dev)])
if (process.env.DEMO_EXIT) {
  await shutdown().then(
    () => process.exit(0),
    (err) => {
      log.error('error while stopping', { err: String(err) })
      process.exit(1)
    },
  )
}
say('Nudge keeps running; Ctrl-C stops it.')
stopOnSignals(shutdown, log)

/** Opens the report where a desktop can show it (DEMO_OPEN=0: never); false when it did not try. */
function openInBrowser(path: string): boolean {
  if (process.env.DEMO_OPEN === '0' || process.env.DEMO_EXIT) return false
  const opener =
    process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? 'explorer'
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
          ? 'xdg-open'
          : undefined
  if (!opener) return false
  spawn(opener, [path], { detached: true, stdio: 'ignore' })
    .on('error', () => {})
    .unref()
  return true
}

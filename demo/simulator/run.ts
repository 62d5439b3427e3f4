import { EventBatcher, NudgeClient } from './client.js'
import { MailWatcher, listSince, parseReceivedAt } from './engagement.js'
import { defaultRunId, planSimulation } from './model.js'
import { ProgressBar, type ProgressOptions, type ProgressSnapshot } from './progress.js'
import { runShopper } from './runShopper.js'
import { type Scenario, parseScenario } from './scenario.js'
import type { SimulationSummary } from './summaryTypes.js'
import { summarize } from './summarize.js'
import { type ShopperOutcome, Tally } from './tally.js'

export type { ArmSummary, ContentSummary, SimulationSummary } from './summaryTypes.js'

/**
 * Runs a scenario against a running Nudge through its public APIs only: every shopper's plan is
 * played in (compressed) real time through `/v1/batch`, each shopper watches their capture
 * mailbox and reacts to what Nudge sent, and the result is a summary — counts per event type,
 * races injected, false triggers observed, and the ground truth per arm to compare with what
 * Nudge's own analysis reports.
 */

export interface RunOptions {
  /** Nudge's base URL, e.g. http://127.0.0.1:3000 */
  url: string
  /** A source's write key (HTTP Basic user of /v1/batch). */
  writeKey: string
  /** The admin key — used only to read the capture mailbox. */
  adminKey: string
  /** A scenario (see scenario.ts); missing knobs take their defaults. */
  scenario?: unknown
  /** A progress bar on stderr (default: off). */
  progress?: boolean | ProgressOptions
  /** Stops the run early; the summary says `aborted: true` and counts what happened. */
  signal?: AbortSignal
  /** For tests: a fetch to use instead of the global one. */
  fetch?: typeof fetch
}

export async function runSimulation(opts: RunOptions): Promise<SimulationSummary> {
  const s = parseScenario(opts.scenario ?? {})
  const startedAt = Date.now()
  const runId = s.runId ?? defaultRunId(s.seed, startedAt)
  const plan = planSimulation(s, runId)
  const client = new NudgeClient({
    url: opts.url,
    writeKey: opts.writeKey,
    adminKey: opts.adminKey,
    userAgent: s.engagement.userAgent,
    maxRetries: s.http.maxRetries,
    timeoutMs: s.http.timeoutMs,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
  const batcher = new EventBatcher(client, { maxEvents: s.http.batchMaxEvents, lingerMs: s.http.lingerMs })
  const watcher = new MailWatcher(client, {
    mode: s.mailbox.mode,
    pollMs: s.mailbox.pollMs,
    concurrency: s.mailbox.concurrency,
    since: startedAt - 1000,
    ...(s.effects.variantPattern ? { variantPattern: s.effects.variantPattern } : {}),
  })
  const tally = new Tally(s)
  let done = 0

  const snapshot = (): ProgressSnapshot => ({
    shoppers: s.shoppers,
    shoppersDone: done,
    eventsSent: tally.eventsSent,
    mailsSeen: watcher.mailsSeen,
    racesInjected: Object.values(tally.races).reduce((a, b) => a + b, 0),
    errors: tally.errorCount,
    elapsedMs: Date.now() - startedAt,
  })
  const bar = opts.progress ? new ProgressBar(snapshot, typeof opts.progress === 'object' ? opts.progress : {}) : undefined
  bar?.start()

  const t0 = Date.now()
  const sleepUntil = (at: number) => sleep(at - Date.now(), opts.signal)
  const outcomes = await Promise.all(
    plan.shoppers.map((shopper) =>
      runShopper({ s, runId, shopper, t0, client, batcher, watcher, tally, sleepUntil }).finally(() => {
        done++
      }),
    ),
  )
  watcher.stop()
  if (s.mailbox.finalSweep && !opts.signal?.aborted) await sweep(s, client, outcomes, tally, startedAt - 1000)
  bar?.stop()
  const finishedAt = Date.now()
  return summarize(s, opts.url, runId, plan, outcomes, tally, {
    startedAt,
    finishedAt,
    t0,
    aborted: !!opts.signal?.aborted,
    done,
    client,
    batcher,
    watcher,
  })
}

/** One more read of every mailbox: mail that came after its shopper stopped watching. */
async function sweep(s: Scenario, client: NudgeClient, outcomes: ShopperOutcome[], tally: Tally, since: number): Promise<void> {
  if (s.mailbox.mode === 'all') {
    const byEmail = new Map(outcomes.map((o) => [o.plan.profile.email, o]))
    try {
      for (const m of await listSince(client, since))
        for (const to of m.to) {
          const o = byEmail.get(to)
          if (o && !o.mails.has(m.messageId)) tally.missedAfterWatch++
        }
    } catch (err) {
      tally.error(err)
    }
    return
  }
  let next = 0
  const worker = async () => {
    while (next < outcomes.length) {
      const o = outcomes[next++]!
      try {
        for (const m of await client.listMessages({ to: o.plan.profile.email }))
          if (!o.mails.has(m.messageId) && parseReceivedAt(m.receivedAt) >= since) tally.missedAfterWatch++
      } catch (err) {
        tally.error(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(s.mailbox.concurrency, outcomes.length) }, worker))
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'))
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t)
      reject(signal!.reason ?? new Error('aborted'))
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * `npm run bench:assign` — experiment assignment and flag evaluation in-process, as journeys call
 * them. Targets: ≥ 2M assignments/s, ≥ 500k flag evaluations/s.
 *
 * Assignment: a running 3-arm experiment with a holdout, in a layer, on distinct user ids
 * (BENCH_UNITS, default 2M). Flags: a duration flag with a segment rule, an attribute rule, an
 * experiment rule and a percentage rollout — evaluated directly (what a worker's activity does)
 * and through the OpenFeature client (promises, hooks).
 */
import { OpenFeature } from '@openfeature/server-sdk'
import { type AssignContext, assign } from '../experiments/assign.js'
import { reminderDelayFlag, reminderTimingExperiment } from '../experiments/examples.js'
import { type Experiment, experimentDefinition } from '../experiments/experimentSchema.js'
import { type FlagInput, flagDefinition, normalizeFlag } from '../experiments/flags/flagSchema.js'
import { compileFlag, evaluateFlag } from '../experiments/flags/evaluateFlag.js'
import { NudgeFlagProvider } from '../experiments/flags/openFeatureProvider.js'
import type { FlagService } from '../experiments/flags/flagService.js'
import { check, fmt } from './bench/report.js'

const UNITS = Number(process.env.BENCH_UNITS ?? 2_000_000)
const units = Array.from({ length: UNITS }, (_, i) => `user-${i}`)

const experiment: Experiment = {
  definition: experimentDefinition.parse({ ...reminderTimingExperiment, layer: { id: 'cart-step', range: [0, 0.8] } }),
  status: 'running',
  version: 1,
  updatedAt: 0,
}
const vips = new Set(units.filter((_, i) => i % 50 === 0))
const ctx: AssignContext = { now: Date.now(), globalHoldout: 0.05, isMember: (_s, u) => vips.has(u) }

function rate(label: string, n: number, run: () => void): number {
  run() // warm up
  const t = performance.now()
  run()
  const perSec = n / ((performance.now() - t) / 1000)
  console.log(`${label.padEnd(44)} ${fmt(perSec)}/s`)
  return perSec
}

async function main() {
  console.log(`assignment and flag benchmark: ${fmt(UNITS)} distinct units, Node ${process.version}`)
  let inExperiment = 0
  const assignments = rate('assignments (pure, in-process)', UNITS, () => {
    inExperiment = 0
    for (const u of units) if (assign(experiment, u, ctx).inExperiment) inExperiment++
  })
  console.log(`${''.padEnd(44)} ${fmt((inExperiment / UNITS) * 100, 1)} % in the experiment (layer 80 %, global holdout 5 %)`)

  const compiled = compileFlag(normalizeFlag(flagDefinition.parse(reminderDelayFlag) as FlagInput))
  const deps = { isMember: ctx.isMember, assign: (_k: string, u: string) => assign(experiment, u, ctx) }
  const contexts = units.map((u, i) => ({ targetingKey: u, country: i % 7 === 0 ? 'NO' : 'DE' }))
  const n = Math.min(UNITS, 1_000_000)
  const direct = rate('flag evaluations (in-process, direct)', n, () => {
    for (let i = 0; i < n; i++) evaluateFlag(compiled, 'cart_abandonment.reminder_delay', 'number', 0, contexts[i]!, deps)
  })

  // Through the OpenFeature SDK, as application code asks.
  const flags = {
    evaluate: (key: string, type: 'number', def: number, c: Record<string, unknown>) => evaluateFlag(compiled, key, type, def, c, deps),
    onChange: () => {},
  }
  await OpenFeature.setProviderAndWait(new NudgeFlagProvider(flags as unknown as FlagService))
  const client = OpenFeature.getClient()
  const m = Math.min(n, 300_000)
  const sdkRun = async () => {
    const batch = 1000
    for (let i = 0; i < m; i += batch) {
      const ps: Promise<number>[] = []
      for (let j = i; j < i + batch && j < m; j++) ps.push(client.getNumberValue('cart_abandonment.reminder_delay', 0, contexts[j]!))
      await Promise.all(ps)
    }
  }
  await sdkRun()
  const t = performance.now()
  await sdkRun()
  const sdk = m / ((performance.now() - t) / 1000)
  console.log(`${'flag evaluations (OpenFeature client)'.padEnd(44)} ${fmt(sdk)}/s`)
  console.log('')
  console.log(`assignments, pure and in-process: ${fmt(assignments)}/s   (target ≥ 2M assignments/s: ${check(assignments >= 2_000_000)})`)
  console.log(`flag evaluations, in-process: ${fmt(direct)}/s   (target ≥ 500k flag evaluations/s in-process: ${check(direct >= 500_000)})`)
  console.log(`flag evaluations through the OpenFeature client: ${fmt(sdk)}/s (the SDK's own promise per call; not the target's path)`)
  await OpenFeature.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

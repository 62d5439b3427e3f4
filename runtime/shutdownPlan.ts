import type { Logger } from '../core/log.js'

/**
 * How a process stops, as one ordered list. The order is the point: whatever a step still
 * needs (the worker's activities need the stores, the mail transport and the writer) is
 * closed by a later step, never an earlier one. Each step has a time bound; a step that fails or
 * overruns is logged and the plan goes on (a stuck step must not keep the stores open forever),
 * and the plan as a whole then reports failure.
 */
export interface ShutdownStep {
  name: string
  /** Upper bound for this step; past it the plan logs and moves on. */
  timeoutMs: number
  run: () => Promise<unknown> | unknown
}

export interface StepOutcome {
  name: string
  ms: number
  outcome: 'done' | 'timed out' | 'failed'
  err?: string
}

export class ShutdownIncomplete extends Error {
  constructor(readonly steps: StepOutcome[]) {
    super(
      `shutdown incomplete: ${steps
        .filter((s) => s.outcome !== 'done')
        .map((s) => `${s.name} ${s.outcome}${s.err ? ` (${s.err})` : ''}`)
        .join('; ')}`,
    )
  }
}

/** Runs the steps in order, logging each; rejects with ShutdownIncomplete if any failed or overran. */
export async function runShutdownPlan(
  steps: readonly ShutdownStep[],
  log: Pick<Logger, 'info' | 'warn' | 'error'>,
): Promise<StepOutcome[]> {
  log.info('shutdown plan', { steps: steps.map((s, i) => `${i + 1}. ${s.name} (≤ ${s.timeoutMs} ms)`) })
  const outcomes: StepOutcome[] = []
  for (const [i, step] of steps.entries()) {
    const t0 = Date.now()
    let timer: NodeJS.Timeout | undefined
    const overran = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), step.timeoutMs)))
    let outcome: StepOutcome
    try {
      const r = await Promise.race([
        Promise.resolve()
          .then(step.run)
          .then(() => 'done' as const),
        overran,
      ])
      outcome = { name: step.name, ms: Date.now() - t0, outcome: r }
    } catch (err) {
      outcome = { name: step.name, ms: Date.now() - t0, outcome: 'failed', err: err instanceof Error ? err.message : String(err) }
    } finally {
      clearTimeout(timer)
    }
    outcomes.push(outcome)
    const at = `${i + 1}/${steps.length}`
    if (outcome.outcome === 'done') log.info(`shutdown ${at} ${step.name}: done`, { ms: outcome.ms })
    else if (outcome.outcome === 'timed out') log.warn(`shutdown ${at} ${step.name}: timed out, going on`, { ms: outcome.ms })
    else log.error(`shutdown ${at} ${step.name}: failed, going on`, { ms: outcome.ms, err: outcome.err })
  }
  if (outcomes.some((o) => o.outcome !== 'done')) throw new ShutdownIncomplete(outcomes)
  return outcomes
}

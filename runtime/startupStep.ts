import type { Logger } from '../core/log.js'

/**
 * Runs one start-up step and logs how long it took and when it ended (ms since the process
 * started), at info: where start-up time goes shows in every start log, and
 * `npm run bench:startup` reads these lines to name the slow step.
 */
export async function startupStep<T>(log: Logger, step: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await run()
  log.info('start-up step', { step, ms: Math.round(performance.now() - started), atMs: Math.round(process.uptime() * 1000) })
  return result
}

import { parseDuration } from '../../../core/duration.js'
import type { FlagUse } from '../../activities/journeyActivities.js'
import { local } from '../activityProxies.js'
import type { JourneyRun } from '../journeyRun.js'
import { showFlagUse } from '../showFlagUse.js'
import { STOP, type StepHandler, type StepOf } from './stepHandler.js'

type Delay = StepOf<'delay'>

/** How long to wait: a fixed wait is known here; a flag or a local-time window is asked of an activity. */
async function resolve(run: JourneyRun, s: Delay): Promise<{ ms: number; flag?: FlagUse }> {
  const left = run.takeResumed()
  if (left !== undefined) return { ms: left }
  if (s.flag || s.until) return local.resolveDelay({ step: s, userKey: run.input.userKey })
  return { ms: parseDuration(s.duration) ?? 0 }
}

/** Waits a fixed time, a flag's value, and/or until the user's local time is inside a window. */
export const delayStep: StepHandler<Delay> = {
  parks: true,
  async run(run, s, { to }) {
    const d = await resolve(run, s)
    if (d.flag) {
      run.state.flags = showFlagUse(run.state.flags, d.flag)
      if (d.flag.experimentKey && d.flag.variant) {
        run.state.experimentKey ??= d.flag.experimentKey
        run.state.variant ??= d.flag.variant
      }
    }
    run.state.status = 'waiting'
    const scheduledAt = Date.now() + d.ms
    if (await run.pause(d.ms, s.id)) return STOP
    run.recordStep(s, 'waited', { scheduledAt, reason: d.flag ? `${d.flag.flag}=${d.flag.value}ms (${d.flag.reason})` : undefined })
    return { to }
  },
}

/**
 * Installs the seed's examples into a running Nudge through its API: the reminder-delay flag and
 * timing experiment, the browse experiment, the other journeys' delay flags, the inactive segment,
 * and the five journeys, activated. Idempotent: what exists already is left as it is. The demo
 * installs them this way, and so does `npm run examples` (scripts/install-examples.ts).
 */
import { reminderDelayFlag, reminderTimingExperiment } from '../experiments/examples.js'
import { browseExperiment, exampleJourneys, inactiveSegment, journeyDelayFlags } from '../journeys/examples.js'

/** POSTs as the admin; 409 (it exists, or is already in that state) is fine for an idempotent install. */
export function adminPost(base: string, adminKey: string, log: (line: string) => void = () => {}) {
  return async (path: string, body?: unknown): Promise<void> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    })
    const text = await res.text()
    if (!res.ok && res.status !== 409) throw new Error(`${path}: ${res.status} ${text}`)
    log(`${res.status === 409 ? 'exists ' : 'created'} ${path}`)
  }
}

export async function installExamples(base: string, adminKey: string, log: (line: string) => void = () => {}): Promise<void> {
  const call = adminPost(base, adminKey, log)
  await call('/api/segments', inactiveSegment)
  for (const e of [reminderTimingExperiment, browseExperiment]) {
    await call('/api/experiments', e)
    await call(`/api/experiments/${e.key}/start`)
  }
  for (const f of [reminderDelayFlag, ...journeyDelayFlags]) await call('/api/flags', f)
  for (const j of exampleJourneys) {
    await call('/api/journeys', j)
    await call(`/api/journeys/${j.id}/activate`)
  }
}

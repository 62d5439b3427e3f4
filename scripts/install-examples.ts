/**
 * `npm run examples` — installs the seed's journeys, flags, experiments and segment into a running
 * Nudge through its API (demo/installExamples.ts). Idempotent.
 *
 * NUDGE_URL (default http://127.0.0.1:3000), ADMIN_API_KEY (default the dev key).
 */
import { installExamples } from '../demo/installExamples.js'

await installExamples(process.env.NUDGE_URL ?? 'http://127.0.0.1:3000', process.env.ADMIN_API_KEY ?? 'admin_demo_key', (l) =>
  console.log(l),
)
console.log('The seed journeys are active. Send events (see the README) and watch runs in the Temporal UI.')

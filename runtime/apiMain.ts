import { runRole } from './scaled.js'

runRole('api').catch((err) => {
  process.stderr.write(`Nudge API failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})

import { runRole } from './scaled.js'

runRole('worker').catch((err) => {
  process.stderr.write(`Nudge worker failed to start: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})

import { TemporalCliUnavailable, ensureTemporalCli } from '../runtime/temporal/temporalCli.js'

// `npm run setup`: makes sure the Temporal CLI is available (builds it once per machine).
ensureTemporalCli().then(
  (path) => process.stdout.write(`Temporal CLI: ${path}\n`),
  (err) => {
    process.stderr.write(`${err instanceof TemporalCliUnavailable ? err.message : String(err)}\n`)
    process.exit(1)
  },
)

import { writeFileSync } from 'node:fs'
import { bundleWorkflowCode } from '@temporalio/worker'
import { WORKFLOWS_PATH } from './workflowsPath.js'

// Child-process entry: bundles the workflow code into argv[2]. Run apart from Nudge so webpack's
// memory (~150 MB that the process would otherwise keep) never lands in the long-lived process.
const out = process.argv[2]
if (!out) throw new Error('usage: bundleMain <output file>')
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) },
})
writeFileSync(out, code)

#!/usr/bin/env node
// `npm test`: runs the house checks (type check, layer rules, formatter, linter, file sizes), makes
// sure the Temporal CLI exists (built once per machine), runs every vitest test against the real
// engines, and ends with the one line CI reads: "N passed, N failed" (each check counts as one).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

// Every check runs even when one fails, so one run shows everything to fix.
const checks = spawnSync(process.execPath, ['scripts/check-house.mjs'], { stdio: 'inherit' })
const checkResult = JSON.parse(readFileSync('test-results/checks.json', 'utf8'))

const setup = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/setup-temporal.ts'], { stdio: 'inherit' })
if (setup.status !== 0) {
  console.log(`${checkResult.passed} passed, ${checkResult.failed + 1} failed`)
  process.exit(1)
}

// The report's browser test drives the machine's Chromium (Debian's package); install it once.
if (!process.env.CHROMIUM_PATH && !existsSync('/usr/bin/chromium')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  console.log(
    root ? 'Installing Chromium (apt) for the browser test…' : 'No /usr/bin/chromium and not root: set CHROMIUM_PATH for the browser test',
  )
  if (root) {
    const apt = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    if (apt.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' })
      spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      })
    }
  }
}

mkdirSync('test-results', { recursive: true })
const report = join('test-results', 'vitest.json')
rmSync(report, { force: true })
const run = spawnSync(
  process.execPath,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
)

let passed = 0
let failed = 0
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  passed = r.numPassedTests ?? 0
  failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0)
  // A file that failed to load contributes no tests but is a failure all the same.
  for (const suite of r.testResults ?? []) if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed++
}
if (run.status !== 0 && failed === 0) failed = 1
passed += checkResult.passed
failed += checkResult.failed
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && run.status === 0 && checks.status === 0 ? 0 : 1)

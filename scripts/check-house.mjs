#!/usr/bin/env node
// The house checks `npm test` runs before the tests (docs/architecture.md says why each exists):
// the type check, the layer rules (dependency-cruiser), the formatter (Prettier), the linter
// (typescript-eslint, which also holds files to 400 lines and functions to 80), and the size of
// files ESLint does not read. Writes test-results/checks.json for scripts/test.mjs to count.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'

const MAX_LINES = 400
const bin = (name) => `node_modules/.bin/${name}`
const CHECKS = [
  ['types', bin('tsc'), ['-p', 'tsconfig.json']],
  ['layers', bin('depcruise'), ['.', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']],
  ['format', bin('prettier'), ['--check', '--log-level', 'warn', '.']],
  ['lint', bin('eslint'), ['--max-warnings', '0', '.']],
]

const results = []
for (const [name, cmd, args] of CHECKS) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  results.push({ name, ok: r.status === 0 })
}

// Python and other sources ESLint does not read keep the same size limit (tests are exempt).
const tracked = spawnSync('git', ['ls-files', '*.py', '*.mjs', '*.cjs', '*.sh'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
const long = tracked
  .filter((f) => !f.startsWith('test/'))
  .map((f) => [f, readFileSync(f, 'utf8').split('\n').length])
  .filter(([, n]) => n > MAX_LINES)
for (const [f, n] of long) console.error(`${f}: ${n} lines (at most ${MAX_LINES})`)
results.push({ name: 'file sizes', ok: long.length === 0 })

// Routes and the composition root hold no SQL text: queries live in the owning module's repository.
const SQL = /\b(SELECT\s[\s\S]{0,200}?\sFROM|INSERT\s+INTO|ALTER\s+TABLE|DELETE\s+FROM|TRUNCATE\s+TABLE|CREATE\s+TABLE)\b/
const wiring = spawnSync('git', ['ls-files', 'api', 'runtime'], { encoding: 'utf8' })
  .stdout.split('\n')
  .filter((f) => /\.(ts|mjs)$/.test(f))
const withSql = wiring.filter((f) => SQL.test(readFileSync(f, 'utf8')))
for (const f of withSql) console.error(`${f}: SQL text in a route or the composition root (move it to the owning module's repository)`)
results.push({ name: 'no SQL in routes or wiring', ok: withSql.length === 0 })

for (const r of results) console.log(`check ${r.name}: ${r.ok ? 'passed' : 'FAILED'}`)
const passed = results.filter((r) => r.ok).length
mkdirSync('test-results', { recursive: true })
writeFileSync('test-results/checks.json', JSON.stringify({ passed, failed: results.length - passed, results }))
process.exit(passed === results.length ? 0 : 1)

import { afterAll, afterEach, expect } from 'vitest'
import { checkResponses } from '../../api/route.js'

/**
 * A vitest setup file (vitest.config.ts `setupFiles`): in every test file, every typed `reply` a
 * Nudge running in this process sends is parsed with the schema its route documents for that
 * status (api/route.ts `checkResponses`). A drift is recorded, not thrown — the client still gets
 * the answer, so the test's own assertions run — and the test during which it happened fails
 * naming the route, the status and zod's issues. Nudge processes started as children
 * (test/helpers/child.ts) are not covered: their replies never pass through this module.
 */
const drifts: string[] = []

checkResponses((spec, status, body) => {
  const documented = spec.responses[status]
  const where = `${spec.method.toUpperCase()} ${spec.path} → ${status}`
  if (!documented) {
    drifts.push(`${where}: status ${status} is not documented`)
    return
  }
  if (!documented.schema) return
  const parsed = documented.schema.safeParse(body)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(body)'}: ${i.message}`).join('\n')
    drifts.push(`${where}: the body does not match its documented schema\n${issues}\n  body: ${JSON.stringify(body)?.slice(0, 400)}`)
  }
})

function expectNoDrift(when: string): void {
  const found = drifts.splice(0)
  expect(found, `responses that drift from /openapi.json (${when}):\n${found.join('\n')}`).toEqual([])
}

afterEach(() => expectNoDrift('during this test'))
afterAll(() => expectNoDrift('in this file’s hooks'))

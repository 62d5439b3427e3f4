import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { workflowSourceFiles } from '../../workflows/worker/bundleCache.js'

/** The workflow bundle is cached under a hash of its sources: every file that goes into it must be in the hash. */
describe('the workflow bundle cache key', () => {
  const root = join(import.meta.dirname, '..', '..')
  const files = workflowSourceFiles().map((f) => relative(root, f))

  it('follows the imports from the bundle entry: every workflow-code file and the pure modules it uses', () => {
    const journeyCode = readdirSync(join(root, 'workflows', 'journey'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join('workflows', 'journey', f))
    expect(files).toEqual(expect.arrayContaining(['workflows/index.ts', 'workflows/healthcheck.workflow.ts', ...journeyCode]))
    expect(files).toEqual(expect.arrayContaining(['journeys/matchEvent.ts', 'core/duration.ts', 'core/textBounds.ts']))
  })

  it('leaves out type-only imports and everything outside the sandbox (activities, client, worker)', () => {
    expect(files).not.toContain('journeys/journeyRecorder.ts')
    expect(files).not.toContain('delivery/deliver.ts')
    expect(files.filter((f) => /^workflows\/(activities|client|worker)\//.test(f))).toEqual([])
  })
})

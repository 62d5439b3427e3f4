import { describe, expect, it } from 'vitest'
import { GENERATED_END, GENERATED_START, withGenerated } from '../../scripts/bench/generatedSection.js'

describe('BENCHMARKS.md generated section', () => {
  it('replaces only the text between the markers, keeping the dated sections around it', () => {
    const doc = `# B\n\nintro\n\n${GENERATED_START}\nold table\n${GENERATED_END}\n\n## Measured 2026-12-05\n\nhand figures\n`
    const out = withGenerated(doc, 'new table')
    expect(out).toBe(`# B\n\nintro\n\n${GENERATED_START}\nnew table\n${GENERATED_END}\n\n## Measured 2026-12-05\n\nhand figures\n`)
    expect(withGenerated(out, 'newer')).toContain(`${GENERATED_START}\nnewer\n${GENERATED_END}`)
    expect(withGenerated(out, 'newer')).not.toContain('new table')
  })

  it('appends the section when the document has none yet', () => {
    expect(withGenerated('# B\n\nhand figures\n', 'table')).toBe(`# B\n\nhand figures\n\n${GENERATED_START}\ntable\n${GENERATED_END}\n`)
  })
})

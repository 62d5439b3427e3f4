import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import mjml2html from 'mjml'
import { afterAll, describe, expect, it } from 'vitest'
import { compileMjml, findIncludes, mjmlToHtml } from '../../content/compileMjml.js'
import type { FieldIssue } from '../../core/errors.js'

/**
 * MJML never opens a file a template names. The API-level refusal is tested in
 * test/integration/content.templates.test.ts; this proves the second layer: even a body that
 * reached MJML with an include in it reads nothing — and that the same body does read the file
 * with MJML's defaults (so the probe is real).
 */
describe('MJML without includes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nudge-mjml-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name))
  const html = file('s.html', '<b>MARKER-HTML</b>')
  const css = file('s.css', '.MARKER-CSS { color: red }')
  const part = file('s.mjml', '<mj-section><mj-column><mj-text>MARKER-MJML</mj-text></mj-column></mj-section>')
  const nested = file('n.mjml', `<mj-wrapper><mj-include path="${part}" /></mj-wrapper>`)
  const section = '<mj-section><mj-column><mj-text>ok</mj-text></mj-column></mj-section>'
  const bodies: Record<string, string> = {
    html: `<mjml><mj-body><mj-include path="${html}" type="html" />${section}</mj-body></mjml>`,
    css: `<mjml><mj-head><mj-include path="${css}" type="css" /></mj-head><mj-body>${section}</mj-body></mjml>`,
    cssInline: `<mjml><mj-head><mj-attributes><mj-include path="${css}" type="css" css-inline="inline" /></mj-attributes></mj-head><mj-body><mj-section><mj-column><mj-text css-class="MARKER-CSS">ok</mj-text></mj-column></mj-section></mj-body></mjml>`,
    mjml: `<mjml><mj-body><mj-include path="${part}" />${section}</mj-body></mjml>`,
    nested: `<mjml><mj-body><mj-include path="${nested}" />${section}</mj-body></mjml>`,
    relative: `<mjml><mj-body><mj-include path="${relative(process.cwd(), html)}" type="html" />${section}</mj-body></mjml>`,
    upper: `<mjml><mj-body><MJ-INCLUDE path="${html}" type="html" />${section}</mj-body></mjml>`,
  }

  it.each(Object.entries(bodies))('%s: MJML’s defaults read the file; Nudge’s options do not', (_name, body) => {
    const unsafe = (mjml2html as unknown as (b: string, o: object) => { html: string })(body, { validationLevel: 'skip' }).html
    // What a read file leaves in the output: its text, its CSS rule, or the rule inlined.
    const leaked = /MARKER-HTML|MARKER-MJML|\.MARKER-CSS\s*\{|color:\s*red/
    expect(unsafe).toMatch(leaked)
    const issues: FieldIssue[] = []
    const safe = mjmlToHtml(body, issues)
    expect(issues).toEqual([])
    expect(safe).toBeDefined()
    expect(safe).not.toMatch(leaked)
    expect(findIncludes(body).length).toBeGreaterThan(0)
    expect(compileMjml(body, issues.splice(0))).toBeUndefined()
  })

  it('finds the tag as MJML’s tokenizer does, with its line; inert text is not a tag', () => {
    expect(findIncludes('<mjml>\n<mj-body>\n\n  <mj-include\n path="x" /></mj-body></mjml>')).toEqual([4])
    expect(findIncludes('<mjml><mj-body><Mj-Include path="x"></Mj-Include></mj-body></mjml>')).toEqual([1])
    expect(
      findIncludes(
        '<mjml><mj-body><!-- <mj-include path="x" /> --><mj-text><![CDATA[<mj-include path="x"/>]]> &lt;mj-include&gt;</mj-text></mj-body></mjml>',
      ),
    ).toEqual([])
    const issues: FieldIssue[] = []
    expect(compileMjml('<mjml><mj-body>\n<mj-include path="/etc/passwd" type="html"/></mj-body></mjml>', issues)).toBeUndefined()
    expect(issues).toEqual([expect.objectContaining({ path: 'body', rule: 'mjml_include_forbidden', line: 2 })])
  })
})

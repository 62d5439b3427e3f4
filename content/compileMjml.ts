import { createRequire } from 'node:module'
import mjml2html from 'mjml'
import type { FieldIssue } from '../core/errors.js'

/**
 * MJML → HTML, with no way for a template to reach the file system.
 *
 * MJML's `<mj-include path="…">` reads any file the process can (`type="html"` pastes it into the
 * body, `type="css"` into a style block, the default parses it as MJML and follows its own
 * includes), resolved against the working directory, so `/etc/passwd` and `../../DATA_DIR/…` both
 * work. A template is data an admin types into a form; it never names a file. Two layers:
 * - the tag is refused (400 naming it) wherever it appears, found by the same HTML tokenizer MJML
 *   parses with — so case (`<MJ-INCLUDE>`), whitespace, self-closing or not, and nesting in
 *   `mj-head`/`mj-attributes` are all seen as MJML sees them; a commented-out one is inert text to
 *   both and is left alone;
 * - MJML itself runs with `ignoreIncludes: true` (mjml-parser-xml then drops the tag before its
 *   only two `readFileSync` calls; nested includes only happen through those) and without the
 *   options that read files (`filePath`, `mjmlConfigPath`, `useMjmlConfigOptions`, a `skeleton`
 *   path), so even a tag the first layer missed opens nothing.
 */
export const MJML_OPTIONS = {
  validationLevel: 'strict',
  keepComments: false,
  ignoreIncludes: true,
  // No base path: the parser would otherwise stat it; with includes off nothing resolves against it.
  filePath: '',
  actualPath: '',
} as const

export const INCLUDE_RULE = 'mjml_include_forbidden'

export function compileMjml(body: string, issues: FieldIssue[]): string | undefined {
  const includes = findIncludes(body)
  if (includes.length) {
    // One issue per tag, up to a few: enough to find them all by line without a 10,000-entry answer.
    for (const line of includes.slice(0, 20))
      issues.push({
        path: 'body',
        rule: INCLUDE_RULE,
        message: '<mj-include> is not allowed: a template cannot read files; use a built-in partial ({% render "name" %}) instead',
        line,
      })
    return undefined
  }
  return mjmlToHtml(body, issues)
}

/** The MJML compile alone (the second layer; exported so a test can prove it opens nothing). */
export function mjmlToHtml(body: string, issues: FieldIssue[]): string | undefined {
  try {
    // mjml 4 compiles synchronously (its newest typings describe the async mjml 5).
    const out = mjml2html(body, MJML_OPTIONS as unknown as Parameters<typeof mjml2html>[1]) as unknown as { html: string }
    return out.html
  } catch (err) {
    const errors = (err as { errors?: { line?: number; message?: string }[] }).errors
    if (errors?.length)
      for (const d of errors)
        issues.push({ path: 'body', rule: 'mjml', message: d.message ?? 'invalid MJML', ...(d.line ? { line: d.line } : {}) })
    else issues.push({ path: 'body', rule: 'mjml', message: err instanceof Error ? err.message : String(err) })
    return undefined
  }
}

interface TagParser {
  write(chunk: string): void
  end(): void
  startIndex: number
}
type ParserClass = new (
  handler: { onopentag?: (name: string) => void },
  options: { recognizeCDATA: boolean; decodeEntities: boolean; recognizeSelfClosing: boolean; lowerCaseAttributeNames: boolean },
) => TagParser

// The htmlparser2 that mjml-parser-xml itself loads (it pins its own major), so the tags found
// here are exactly the tags MJML would act on.
const requireFromHere = createRequire(import.meta.url)
const { Parser } = createRequire(requireFromHere.resolve('mjml-parser-xml'))('htmlparser2') as { Parser: ParserClass }

/** The 1-based line of every `mj-include` tag, as MJML's parser tokenizes the source. */
export function findIncludes(source: string): number[] {
  const lines: number[] = []
  // Tags come in source order: count newlines once, from the last tag on (linear in the body, however many tags).
  let scanned = 0
  let line = 1
  const lineAt = (index: number) => {
    for (; scanned < index && scanned < source.length; scanned++) if (source.charCodeAt(scanned) === 10) line++
    return line
  }
  const parser = new Parser(
    {
      onopentag: (name) => {
        if (name.toLowerCase() === 'mj-include') lines.push(lineAt(parser.startIndex))
      },
    },
    // mjml-parser-xml's options; tag names are lower-cased (htmlparser2's default outside xmlMode).
    { recognizeCDATA: true, decodeEntities: false, recognizeSelfClosing: true, lowerCaseAttributeNames: false },
  )
  parser.write(source)
  parser.end()
  return lines
}

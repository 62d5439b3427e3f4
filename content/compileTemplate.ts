import type { Liquid, Template } from 'liquidjs'
import { type FieldIssue, ValidationError } from '../core/errors.js'
import { compileMjml } from './compileMjml.js'
import type { TemplateDefinition } from './templateSchema.js'

/** A template ready to render: MJML already compiled, every Liquid field parsed. */
export interface CompiledTemplate {
  definition: TemplateDefinition
  version: number
  subject: Template[]
  preheader?: Template[]
  html: Template[]
  text?: Template[]
}

/**
 * Parses and compiles a template, or throws a ValidationError naming each broken field with its
 * line and column (in the text as written). MJML is compiled once here, not per message: Liquid
 * passes through MJML untouched, so each send only renders Liquid on finished HTML.
 */
export function compileTemplate(def: TemplateDefinition, version: number, engines: { html: Liquid; text: Liquid }): CompiledTemplate {
  const issues: FieldIssue[] = []
  const parse = (field: keyof TemplateDefinition, liquid: Liquid, source: string | undefined): Template[] | undefined => {
    if (source === undefined) return undefined
    try {
      return liquid.parse(source)
    } catch (err) {
      issues.push(liquidIssue(field, err))
      return undefined
    }
  }
  const subject = parse('subject', engines.text, def.subject)
  const preheader = parse('preheader', engines.text, def.preheader)
  const text = parse('text', engines.text, def.text)
  // Liquid errors are reported against the body as written; only then is MJML compiled.
  let html: Template[] | undefined
  if (parse('body', engines.html, def.body)) {
    const source = def.format === 'mjml' ? compileMjml(def.body, issues) : def.body
    if (source !== undefined) html = parse('body', engines.html, source)
  }
  if (issues.length || !subject || !html) throw new ValidationError(`Template "${def.id}" does not compile`, issues)
  return { definition: def, version, subject, html, ...(preheader ? { preheader } : {}), ...(text ? { text } : {}) }
}

/** liquidjs puts the position in its message ("…, line:3, col:7"). */
function liquidIssue(field: string, err: unknown): FieldIssue {
  const message = err instanceof Error ? err.message : String(err)
  const at = /line:(\d+), col:(\d+)/.exec(message)
  return {
    path: field,
    rule: 'liquid_syntax',
    message: message.split('\n')[0]!,
    ...(at ? { line: Number(at[1]), column: Number(at[2]) } : {}),
  }
}

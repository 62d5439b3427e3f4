import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Liquid } from 'liquidjs'

/**
 * Email templates: Liquid, one file per template (`content/templates/<id>.liquid`) with a front
 * matter block for the subject. Parsed once at start; a send renders with the user's profile, the
 * trigger event and the message's own fields. (The content issue adds stored templates and MJML.)
 */
export interface Template {
  id: string
  subject: string
  html: string
}

export interface RenderContext {
  user: Record<string, unknown>
  event: Record<string, unknown>
  message: Record<string, unknown>
  computed?: Record<string, unknown>
}

export interface Rendered {
  subject: string
  html: string
  text: string
}

export const TEMPLATES_DIR = join(import.meta.dirname, 'templates')

export class TemplateStore {
  private readonly templates = new Map<string, { t: Template; subject: unknown; html: unknown }>()
  // Own properties only: a template cannot reach prototypes; unknown filters are errors at parse.
  private readonly liquid = new Liquid({ ownPropertyOnly: true, strictFilters: true, cache: true })

  constructor(dir = TEMPLATES_DIR) {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.liquid')).sort()) this.add(parseTemplateFile(f.slice(0, -7), readFileSync(join(dir, f), 'utf8')))
  }

  add(t: Template): void {
    this.templates.set(t.id, { t, subject: this.liquid.parse(t.subject), html: this.liquid.parse(t.html) })
  }

  has(id: string): boolean {
    return this.templates.has(id)
  }

  ids(): string[] {
    return [...this.templates.keys()]
  }

  /** Does the template read computed properties (so the sender loads them only when needed)? */
  usesComputed(id: string): boolean {
    const t = this.templates.get(id)?.t
    return !!t && /\bcomputed\./.test(t.subject + t.html)
  }

  async render(id: string, ctx: RenderContext, subjectOverride?: string): Promise<Rendered> {
    const entry = this.templates.get(id)
    if (!entry) throw new Error(`no template "${id}"`)
    const subject = subjectOverride ? await this.liquid.parseAndRender(subjectOverride, ctx) : await this.liquid.render(entry.subject as never, ctx)
    const html = (await this.liquid.render(entry.html as never, ctx)) as string
    return { subject: String(subject).replace(/\s+/g, ' ').trim(), html, text: htmlToText(html) }
  }
}

/** `---\nsubject: …\n---\n<body>` → a template. */
export function parseTemplateFile(id: string, source: string): Template {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(source)
  const meta = m ? m[1]! : ''
  const html = m ? m[2]! : source
  const subject = /^subject:\s*(.*)$/m.exec(meta)?.[1]?.trim().replace(/^"(.*)"$/, '$1') ?? id
  return { id, subject, html }
}

export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<a [^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, '$2 ($1)')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

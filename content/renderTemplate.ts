import type { Liquid } from 'liquidjs'
import { wellFormed } from '../core/textBounds.js'
import type { CompiledTemplate } from './compileTemplate.js'
import type { RenderedMessage } from './templateSchema.js'
import { htmlToText } from './htmlToText.js'
import { escapeHtml } from './tracking/rewriteLinks.js'

export type { RenderedMessage }

/**
 * A render that failed: the send is skipped with this reason — never a half-rendered email.
 * `transient`: only the wall-clock render limit was hit. That limit is time, not work, so a busy
 * machine (many renders at once, a slow recommendation query) hits it too: such a send is
 * retried by its activity's bounded policy instead of being skipped for good.
 */
export class TemplateRenderError extends Error {
  readonly transient: boolean
  constructor(
    readonly templateId: string,
    readonly field: string,
    message: string,
  ) {
    super(`template "${templateId}" ${field}: ${message}`)
    this.name = 'TemplateRenderError'
    this.transient = /template render limit exceeded/.test(message)
  }
}

/** Largest HTML part a render may produce (Gmail clips at ~100 KB; this stops runaway output). */
export const MAX_HTML_BYTES = 512 * 1024

/**
 * Renders every part for one recipient. All parts or nothing: any error (a missing variable, a
 * limit hit, output too large) is a TemplateRenderError naming the field.
 */
export async function renderTemplate(
  t: CompiledTemplate,
  context: Record<string, unknown>,
  engines: { html: Liquid; text: Liquid },
  subjectOverride?: CompiledTemplate['subject'],
): Promise<RenderedMessage> {
  const id = t.definition.id
  const run = async (field: string, liquid: Liquid, tpl: CompiledTemplate['subject']) => {
    try {
      // Well-formed text: Liquid's string filters work on UTF-16 units, so `{{ name | first }}` of
      // "😀 Bo", a `split: ""` or a `replace` can cut an emoji in half; a lone surrogate in a
      // subject or body is refused by the store on every retry of the send (and fails the other
      // sends grouped into the same insert).
      return wellFormed(String(await liquid.render(tpl, context)))
    } catch (err) {
      throw new TemplateRenderError(id, field, (err instanceof Error ? err.message : String(err)).split('\n')[0]!)
    }
  }
  const subject = oneLine(await run('subject', engines.text, subjectOverride ?? t.subject))
  const preheader = t.preheader ? oneLine(await run('preheader', engines.text, t.preheader)) : ''
  let html = await run('body', engines.html, t.html)
  if (Buffer.byteLength(html) > MAX_HTML_BYTES) throw new TemplateRenderError(id, 'body', `output is larger than ${MAX_HTML_BYTES} bytes`)
  const text = t.text ? await run('text', engines.text, t.text) : htmlToText(html)
  if (preheader) html = withPreheader(html, preheader)
  if (!subject) throw new TemplateRenderError(id, 'subject', 'rendered empty')
  return { subject, preheader, html, text }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim()
}

/** The preview line inboxes show after the subject: first in the body, hidden when opened. */
function withPreheader(html: string, preheader: string): string {
  const div = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">${escapeHtml(preheader)}</div>`
  const body = /<body[^>]*>/i.exec(html)
  return body ? html.slice(0, body.index + body[0].length) + div + html.slice(body.index + body[0].length) : div + html
}

import { escapeHtml } from '../content/tracking/rewriteLinks.js'

/**
 * Unsubscribing, as mailbox providers expect it (Gmail and Yahoo require one-click for bulk mail):
 * - RFC 2369 `List-Unsubscribe`: the URLs, each in angle brackets, HTTPS first.
 * - RFC 8058 `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the provider POSTs that body to
 *   the HTTPS URL and the recipient is unsubscribed with no page, no confirmation, no login.
 * The HTTPS URL carries a signed token, so the POST needs nothing else to be trusted.
 */
export interface UnsubscribeHeaders {
  'List-Unsubscribe': string
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click'
}

export function unsubscribeHeaders(opts: { httpsUrl: string; mailto?: string }): UnsubscribeHeaders {
  // RFC 8058 §3.1: one-click needs an HTTPS URI; a plain-http one would be rejected by providers.
  if (!URL.canParse(opts.httpsUrl) || new URL(opts.httpsUrl).protocol !== 'https:')
    throw new Error(`List-Unsubscribe needs an https URL, got "${opts.httpsUrl}"`)
  const uris = [headerSafe(new URL(opts.httpsUrl).href)]
  if (opts.mailto) uris.push(headerSafe(/^mailto:/i.test(opts.mailto) ? opts.mailto : `mailto:${opts.mailto}`))
  return { 'List-Unsubscribe': uris.map((u) => `<${u}>`).join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
}

/** Angle brackets, quotes, whitespace or control characters would break the header or its `<…>` framing. */
function headerSafe(uri: string): string {
  if (/[<>"\s\p{Cc}]/u.test(uri)) throw new Error(`Not usable in List-Unsubscribe: "${uri}"`)
  return uri
}

/**
 * Whether a POST to the unsubscribe URL is an RFC 8058 one-click request: a form body with
 * `List-Unsubscribe=One-Click`, either `application/x-www-form-urlencoded` (what providers send)
 * or `multipart/form-data` (which RFC 8058 §3.2 also allows).
 */
export function isOneClickBody(contentType: string | undefined, rawBody: string | Buffer): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8')
  if (type === 'application/x-www-form-urlencoded') return new URLSearchParams(body).getAll('List-Unsubscribe').includes('One-Click')
  if (type === 'multipart/form-data') {
    const boundary = boundaryOf(contentType!)
    return !!boundary && multipartFields(body, boundary).some((f) => f.name === 'List-Unsubscribe' && f.value === 'One-Click')
  }
  return false
}

function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

/** The text fields of a multipart/form-data body (RFC 7578); enough for a one-line value, no files. */
function multipartFields(body: string, boundary: string): { name: string; value: string }[] {
  const fields: { name: string; value: string }[] = []
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break // the closing delimiter
    const split = /\r?\n\r?\n/.exec(part)
    if (!split) continue
    const headers = part.slice(0, split.index)
    const name = /^content-disposition:\s*form-data\s*;(?:[^\n]*?;)?\s*name="([^"]*)"/im.exec(headers)?.[1]
    if (name !== undefined) fields.push({ name, value: part.slice(split.index + split[0].length).replace(/\r?\n$/, '') })
  }
  return fields
}

export interface PreferenceTopic {
  topic: string
  label: string
  subscribed: boolean
}

export interface PreferencesPageInput {
  topics: PreferenceTopic[]
  /** Where the form posts: the same signed URL, so the POST is authorised by its token. */
  actionUrl: string
  /** Already masked (e.g. `a***@example.com`): the page is reachable by anyone holding the link. */
  email?: string
  /** Show the "saved" confirmation. */
  done?: boolean
}

/** The form's field names, shared with `parsePreferencesForm` so page and route cannot drift apart. */
export const PREFERENCES_FORM = { topic: 'topic', action: 'action', save: 'save', unsubscribeAll: 'unsubscribe_all' } as const

/**
 * The preferences page: one checkbox per topic and an "Unsubscribe from all" button. Self-contained
 * (inline style, no scripts, fonts or images) so it loads anywhere and leaks nothing to third
 * parties; `no-referrer` keeps the token in its URL from reaching any site linked from it.
 */
export function preferencesPage(input: PreferencesPageInput): string {
  const f = PREFERENCES_FORM
  const rows = input.topics
    .map(
      (t) =>
        `<label><input type="checkbox" name="${f.topic}" value="${escapeHtml(t.topic)}"${t.subscribed ? ' checked' : ''}> ${escapeHtml(t.label)}</label>`,
    )
    .join('\n')
  const status = input.done
    ? `<p class="done" role="status">${input.topics.some((t) => t.subscribed) ? 'Your preferences have been saved.' : 'You are unsubscribed from all emails.'}</p>`
    : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<meta name="referrer" content="no-referrer">
<title>Email preferences</title>
<style>
body{margin:0;background:#f4f4f5;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#18181b}
main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 .5rem}
fieldset{border:0;margin:1rem 0;padding:0}
legend{font-weight:600;margin-bottom:.5rem}
label{display:block;padding:.35rem 0}
.done{background:#ecfdf5;border:1px solid #a7f3d0;padding:.5rem .75rem;border-radius:6px}
.who{color:#52525b}
button{font:inherit;padding:.55rem 1rem;border-radius:6px;border:1px solid #18181b;background:#18181b;color:#fff;cursor:pointer;margin:.25rem .5rem .25rem 0}
button.secondary{background:#fff;color:#18181b}
</style>
</head>
<body>
<main>
<h1>Email preferences</h1>
${input.email ? `<p class="who">For ${escapeHtml(input.email)}</p>\n` : ''}${status}
<form method="post" action="${escapeHtml(input.actionUrl)}">
<fieldset>
<legend>Send me emails about</legend>
${rows}
</fieldset>
<button type="submit" name="${f.action}" value="${f.save}">Save preferences</button>
<button type="submit" name="${f.action}" value="${f.unsubscribeAll}" class="secondary">Unsubscribe from all</button>
</form>
</main>
</body>
</html>
`
}

/**
 * What the preferences form posted: the topics left checked and which button was pressed
 * (Enter in the form presses the first one, "save"). Topics are returned as sent; the route keeps
 * only the ones it offered.
 */
export function parsePreferencesForm(rawBody: string | Buffer): { action: 'save' | 'unsubscribe_all'; topics: string[] } {
  const params = new URLSearchParams(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'))
  const f = PREFERENCES_FORM
  return { action: params.get(f.action) === f.unsubscribeAll ? 'unsubscribe_all' : 'save', topics: [...new Set(params.getAll(f.topic))] }
}

/**
 * Click tracking for a rendered email: every web link becomes `${baseUrl}/t/c/<token>`, where the
 * token (signed by the caller's `sign`) carries the original URL. Works on the final HTML string
 * with a tolerant tag scanner rather than a DOM: email HTML is rarely well-formed, and only the
 * `href` value of `<a>` tags is changed — every other byte stays as the template produced it.
 */
export interface RewriteOptions {
  /** Where the tracking routes live, e.g. `https://t.example.com` (a trailing slash is ignored). */
  baseUrl: string
  /** The token for one link; `index` counts tracked links in document order from 0. */
  sign: (url: string, index: number) => string
  /** Links to leave alone although they are web links, e.g. unsubscribe links that are already tracked. */
  skip?: (url: string) => boolean
}

export interface TrackedLink {
  index: number
  /** The URL as the browser would have followed it (entities decoded, outer whitespace trimmed). */
  url: string
}

/** The attribute that opts a link out: `<a data-nudge-notrack href="…">`. */
export const NO_TRACK_ATTRIBUTE = 'data-nudge-notrack'

// `<a` followed by whitespace, `/` or `>` (not `<abbr>`), then attributes up to the first `>` that
// is not inside a quoted value.
const A_TAG = /<a(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>/gi
// One attribute: a name and an optional double-quoted, single-quoted or unquoted value.
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g

export function rewriteLinks(html: string, opts: RewriteOptions): { html: string; links: TrackedLink[] } {
  const base = opts.baseUrl.replace(/\/+$/, '')
  const links: TrackedLink[] = []
  const out = html.replace(A_TAG, (tag, attrs: string) => {
    const href = findHref(attrs)
    if (!href) return tag
    const url = cleanUrl(decodeEntities(href.value))
    if (!isWebUrl(url) || opts.skip?.(url)) return tag
    const index = links.length
    links.push({ index, url })
    const replaced = `href="${escapeHtml(`${base}/t/c/${opts.sign(url, index)}`)}"`
    // Rebuilt from `attrs` (everything between `<a` and `>`): only the href attribute changes.
    return `<a${attrs.slice(0, href.start)}${replaced}${attrs.slice(href.end)}>`
  })
  return { html: out, links }
}

/** The open pixel: a 1×1 image, hidden from screen readers by the empty alt. */
export function openPixel(baseUrl: string, token: string): string {
  const src = `${baseUrl.replace(/\/+$/, '')}/t/o/${token}`
  return `<img src="${escapeHtml(src)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`
}

/** Before the last `</body>` (the pixel should load after the content), or at the end if there is none. */
export function insertBeforeBodyEnd(html: string, snippet: string): string {
  let last: RegExpExecArray | undefined
  for (const m of html.matchAll(/<\/body\s*>/gi)) last = m
  return last ? html.slice(0, last.index) + snippet + html.slice(last.index) : html + snippet
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/**
 * The first `href` (browsers ignore later duplicates), or undefined when there is none or the
 * link opted out. `start`/`end` delimit the whole `href=…` attribute within `attrs`.
 */
function findHref(attrs: string): { value: string; start: number; end: number } | undefined {
  let href: { value: string; start: number; end: number } | undefined
  for (const m of attrs.matchAll(ATTRIBUTE)) {
    const name = m[1]!.toLowerCase()
    if (name === NO_TRACK_ATTRIBUTE) return undefined
    if (name === 'href' && !href) {
      const value = m[2] ?? m[3] ?? m[4]
      if (value === undefined) return undefined // `<a href>`: nothing to track
      href = { value, start: m.index, end: m.index + m[0].length }
    }
  }
  return href
}

/** Browsers drop outer whitespace and any tab or newline inside a URL before following it. */
function cleanUrl(url: string): string {
  return url.replace(/[\t\n\r]/g, '').trim()
}

/** Absolute http(s) only: mailto:, tel:, #anchors, relative and template-placeholder links stay as they are. */
function isWebUrl(url: string): boolean {
  return /^https?:\/\/[^/?#\s]/i.test(url) && URL.canParse(url)
}

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  sol: '/',
  colon: ':',
  quest: '?',
  equals: '=',
  num: '#',
  percnt: '%',
  plus: '+',
}

/**
 * What the browser does to an attribute value before using it: numeric references and the named
 * ones that occur in URLs are decoded, so `?a=1&amp;b=2` is signed as `?a=1&b=2` — the URL the
 * recipient would have reached. Unknown names and references without `;` are left as written.
 */
export function decodeEntities(s: string): string {
  return s.replace(/&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z][a-zA-Z0-9]{0,31});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
    // As the HTML spec: NUL, surrogates and out-of-range code points become U+FFFD.
    return code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? '\ufffd' : String.fromCodePoint(code)
  })
}

import { insertBeforeBodyEnd, openPixel, rewriteLinks } from '../content/tracking/rewriteLinks.js'
import { signToken } from '../content/tracking/tokens.js'
import { unsubscribeHeaders } from './unsubscribeHeaders.js'

export interface TrackingConfig {
  /** Where recipients reach Nudge (tracking routes, unsubscribe, view in browser). */
  publicUrl: () => string
  /** Signs every link (NUDGE_LINK_SIGNING_KEY). */
  key: Buffer
  /** Keys being rotated out (NUDGE_LINK_SIGNING_KEY_PREVIOUS): links they signed still verify; nothing new is signed with them. */
  previousKeys?: readonly Buffer[]
  opens: boolean
  clicks: boolean
  /** Domain of the mailto: unsubscribe address (`unsubscribe+<token>@domain`). */
  mailDomain?: string
}

/** A message's own links: unsubscribe and preferences (one signed URL), view in browser. */
export function messageUrls(cfg: TrackingConfig, m: { messageId: string; userKey: string; topic: string }) {
  const base = cfg.publicUrl().replace(/\/+$/, '')
  const u = signToken(cfg.key, { k: 'u', m: m.messageId, t: m.topic, uk: m.userKey })
  return {
    unsubscribeToken: u,
    unsubscribe: `${base}/u/${u}`,
    preferences: `${base}/u/${u}`,
    view_in_browser: `${base}/t/v/${signToken(cfg.key, { k: 'v', m: m.messageId })}`,
  }
}

/**
 * The rendered HTML made trackable — web links through `/t/c/…` (the unsubscribe and view links
 * are already Nudge's own), an open pixel — and the RFC 8058 headers: `List-Unsubscribe` with the
 * https URL and a mailto, and `List-Unsubscribe-Post` so a mailbox provider's one-click button
 * unsubscribes with a single POST.
 */
export function composeMessage(cfg: TrackingConfig, m: { messageId: string; userKey: string; topic: string; html: string }) {
  const base = cfg.publicUrl().replace(/\/+$/, '')
  const urls = messageUrls(cfg, m)
  let html = m.html
  let links: { index: number; url: string }[] = []
  if (cfg.clicks) {
    const out = rewriteLinks(html, {
      baseUrl: base,
      sign: (url, i) => signToken(cfg.key, { k: 'c', m: m.messageId, u: url, i }),
      skip: (url) => url.startsWith(`${base}/u/`) || url.startsWith(`${base}/t/`),
    })
    html = out.html
    links = out.links
  }
  if (cfg.opens) html = insertBeforeBodyEnd(html, openPixel(base, signToken(cfg.key, { k: 'o', m: m.messageId })))
  const mailto = `mailto:unsubscribe+${urls.unsubscribeToken}@${cfg.mailDomain ?? 'nudge.local'}`
  // RFC 8058 asks for https; a development instance on http://127.0.0.1 still gets both headers
  // so its one-click flow can be exercised end to end.
  const headers: Record<string, string> = urls.unsubscribe.startsWith('https:')
    ? { ...unsubscribeHeaders({ httpsUrl: urls.unsubscribe, mailto }) }
    : { 'List-Unsubscribe': `<${urls.unsubscribe}>, <${mailto}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
  return { html, headers, links }
}

/**
 * Opens and clicks that no person made: privacy proxies that fetch every image, security gateways
 * that follow every link. They are classified, never dropped — the event is stored with
 * `machine` and `reason`, so reports can count humans while the raw record stays complete and a
 * rule can be changed later and re-applied.
 *
 * Times are epoch milliseconds. `sentAt` is when we handed the message over (the closest we get
 * to delivery); when it is unknown the timing rules do not apply. A negative delay (clock skew)
 * counts as "immediately".
 */
export interface DetectionOptions {
  /** An open this soon after the send is a prefetch (gateway or client fetching images on arrival). */
  prefetchMs: number
  /** A click this soon after the send is a link scanner: no person reads and clicks that fast. */
  clickTooFastMs: number
  /** This many different links of one message clicked within `burstWindowMs` is a scanner walking the links. */
  burstLinks: number
  /** The window the caller counts `linksClickedWithinSecond` over. */
  burstWindowMs: number
}

export const DEFAULT_DETECTION: Readonly<DetectionOptions> = Object.freeze({
  prefetchMs: 2_000,
  clickTooFastMs: 10_000,
  burstLinks: 3,
  burstWindowMs: 1_000,
})

export interface OpenInput {
  userAgent?: string
  ip?: string
  at: number
  sentAt?: number
}

export type OpenReason = 'apple_mpp' | 'scanner_agent' | 'prefetch' | 'proxy'

export interface OpenClass {
  machine: boolean
  /** Why it is a machine open, or — with `machine: false` — that a person opened through a proxy. */
  reason?: OpenReason
}

export interface ClickInput {
  userAgent?: string
  /** Not used by any rule yet (scanner IP ranges churn too fast to hard-code); kept so callers record it. */
  ip?: string
  /** The HTTP method of the request to the click URL. */
  method: string
  at: number
  sentAt?: number
  /** Different links of the same message (this one included) clicked within `burstWindowMs`, counted by the caller. */
  linksClickedWithinSecond?: number
}

export type ClickReason = 'head_request' | 'scanner_agent' | 'no_agent' | 'too_fast' | 'burst'

export interface ClickClass {
  machine: boolean
  reason?: ClickReason
}

/**
 * Agents that are never a person reading mail: security gateways and link scanners by vendor,
 * HTTP libraries and command-line tools, headless browsers, link-preview bots. Matched for both
 * opens and clicks.
 */
const MACHINE_AGENTS =
  /barracuda|mimecast|proofpoint|bingpreview|symantec|forcepoint|websense|trend ?micro|ironport|fortinet|fortiguard|sophos|zscaler|spamtitan|mcafee|bitdefender|kaspersky|headlesschrome|phantomjs|python-requests|python-urllib|aiohttp|\bcurl\/|\bwget\/|go-http-client|libwww-perl|node-fetch|axios\/|undici|googlebot|bingbot|slackbot|twitterbot|linkedinbot|facebookexternalhit|discordbot|telegrambot/i

/**
 * Microsoft Safe Links and Office's link checks ("Microsoft Office Existence Discovery",
 * `ms-office`) request a URL before the person does. Clicks only: Outlook on Windows fetches
 * images with an `ms-office` agent when a person opens the message, so for opens it means a human.
 */
const OFFICE_LINK_CHECK = /microsoft office|ms-office|msoffice/i

/** Proxies that fetch images only when a person opens the message (and may cache them afterwards). */
const HUMAN_IMAGE_PROXIES = /googleimageproxy|yahoomailproxy/i

export function classifyOpen(input: OpenInput, options: Partial<DetectionOptions> = {}): OpenClass {
  const o = { ...DEFAULT_DETECTION, ...options }
  const ua = (input.userAgent ?? '').trim()
  // Apple Mail Privacy Protection fetches every image of every message on delivery, from Apple's
  // own egress (17.0.0.0/8) and with the bare agent `Mozilla/5.0`. Either sign is enough: the
  // agent alone is what MPP sends from relays outside 17/8. Its opens say nothing about reading.
  if (isAppleIp(input.ip) || ua === 'Mozilla/5.0') return { machine: true, reason: 'apple_mpp' }
  // A scanner or script fetching the pixel.
  if (MACHINE_AGENTS.test(ua)) return { machine: true, reason: 'scanner_agent' }
  // A fetch within seconds of the send is a gateway or client prefetching images on arrival.
  if (within(input.at, input.sentAt, o.prefetchMs)) return { machine: true, reason: 'prefetch' }
  // Gmail and Yahoo load images through their proxy when a person opens the message: a real open,
  // marked so that reports know the IP and agent are the proxy's, not the reader's.
  if (HUMAN_IMAGE_PROXIES.test(ua)) return { machine: false, reason: 'proxy' }
  return { machine: false }
}

export function classifyClick(input: ClickInput, options: Partial<DetectionOptions> = {}): ClickClass {
  const o = { ...DEFAULT_DETECTION, ...options }
  const ua = (input.userAgent ?? '').trim()
  // Scanners check a link with HEAD; a browser following a link always sends GET.
  if (input.method.toUpperCase() === 'HEAD') return { machine: true, reason: 'head_request' }
  // Every browser sends an agent; a request without one is a script.
  if (!ua) return { machine: true, reason: 'no_agent' }
  if (MACHINE_AGENTS.test(ua) || OFFICE_LINK_CHECK.test(ua)) return { machine: true, reason: 'scanner_agent' }
  // Many different links of one message within a second: something walking the links, not a reader.
  if ((input.linksClickedWithinSecond ?? 0) >= o.burstLinks) return { machine: true, reason: 'burst' }
  // Gateways follow links on arrival, seconds after the send — before a person could have read it.
  if (within(input.at, input.sentAt, o.clickTooFastMs)) return { machine: true, reason: 'too_fast' }
  return { machine: false }
}

function within(at: number, sentAt: number | undefined, ms: number): boolean {
  return sentAt !== undefined && Number.isFinite(sentAt) && at - sentAt < ms
}

/** IPv4 in 17.0.0.0/8, also as an IPv4-mapped IPv6 address (`::ffff:17.x.x.x`, as Node reports it on dual-stack sockets). */
export function isAppleIp(ip: string | undefined): boolean {
  if (!ip) return false
  const v4 = ip.trim().replace(/^::ffff:/i, '')
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4)
  return !!m && m.slice(1).every((p) => Number(p) <= 255) && Number(m[1]) === 17
}

import { simpleParser } from 'mailparser'
import type { CapturedListing, NudgeClient } from './client.js'
import type { ReceivedMail } from './model.js'

/**
 * Reading what Nudge sent: the capture mailbox polled per shopper (`GET /api/messages?to=`), each
 * new message fetched as raw MIME and parsed the way a mail client sees it — the open pixel, the
 * tracked links, the List-Unsubscribe URL, the test-account mark, and which of the shopper's
 * carts it names. Reacting (open, click, buy, unsubscribe) is decided by the pure model
 * (`reactToMail`) and carried out by the runner.
 */

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')

/** The mailbox's `receivedAt` (`2026-05-01 10:00:00.123`, UTC, or ISO) as epoch ms. */
export function parseReceivedAt(text: string): number {
  const t = text.trim()
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(t) ? `${t.replace(' ', 'T')}Z` : t
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms)) throw new Error(`Unreadable receivedAt "${text}"`)
  return ms
}

/**
 * Where a tracked link leads, read from its token (`/t/c/<payload>.<mac>`; the payload is
 * base64url JSON `["c", messageId, index, url]` — readable by whoever holds the mail, signed but
 * not secret). Undefined when it is not such a link.
 */
export function clickTarget(url: string): string | undefined {
  const m = /\/t\/c\/([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(url)
  if (!m) return undefined
  try {
    const payload = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as unknown
    return Array.isArray(payload) && payload[0] === 'c' && typeof payload[3] === 'string' ? payload[3] : undefined
  } catch {
    return undefined
  }
}

/** The http(s) URL of a `List-Unsubscribe` header value (`<https://…>, <mailto:…>`), https first. */
export function unsubscribeUrl(header: string | undefined): string | undefined {
  if (!header) return undefined
  const urls = [...header.matchAll(/<\s*([^>]+?)\s*>/g)].map((m) => m[1]!)
  return urls.find((u) => /^https:/i.test(u)) ?? urls.find((u) => /^http:/i.test(u))
}

/** Cart ids named in text (`cart_id=<id>` in a URL). */
export function cartIdsIn(text: string): string[] {
  const out = new Set<string>()
  for (const m of text.matchAll(/[?&]cart_id=([A-Za-z0-9_.%-]+)/g)) {
    try {
      out.add(decodeURIComponent(m[1]!))
    } catch {
      out.add(m[1]!)
    }
  }
  return [...out]
}

/** A captured message, parsed from its raw MIME and its mailbox listing. */
export async function parseMail(
  raw: string,
  listing: Pick<CapturedListing, 'messageId' | 'receivedAt' | 'subject'>,
  opts: { variantPattern?: string } = {},
): Promise<ReceivedMail> {
  const mail = await simpleParser(raw)
  const html = typeof mail.html === 'string' ? mail.html : ''
  const text = mail.text ?? ''
  const headerLine = (name: string) => {
    const line = mail.headerLines.find((h) => h.key === name)?.line
    return line === undefined
      ? undefined
      : line
          .slice(line.indexOf(':') + 1)
          .replace(/\r?\n[ \t]+/g, ' ')
          .trim()
  }
  const pixel = /<img[^>]+src="([^"]+\/t\/o\/[^"]+)"/i.exec(html)?.[1]
  const links = [...html.matchAll(/<a\b[^>]*\bhref="([^"]+\/t\/c\/[^"]+)"/gi)].map((m) => decodeEntities(m[1]!))
  const unique = [...new Set(links)].map((url) => {
    const target = clickTarget(url)
    return target === undefined ? { url } : { url, target }
  })
  const unsubscribe = unsubscribeUrl(headerLine('list-unsubscribe'))
  const variant = opts.variantPattern ? new RegExp(opts.variantPattern, 'i').exec(`${html}\n${text}`)?.[1] : undefined
  return {
    messageId: listing.messageId,
    subject: listing.subject || (mail.subject ?? ''),
    receivedAt: parseReceivedAt(listing.receivedAt),
    test: headerLine('x-nudge-test') === '1',
    cartIds: cartIdsIn([text, ...unique.map((l) => l.target ?? '')].join('\n')),
    ...(pixel ? { pixelUrl: decodeEntities(pixel) } : {}),
    links: unique,
    ...(unsubscribe ? { unsubscribeUrl: unsubscribe } : {}),
    ...(variant ? { variant } : {}),
  }
}

interface Watched {
  email: string
  onMail: (mail: ReceivedMail) => void
  seen: Set<string>
  lastPoll: number
  polling: Promise<void> | undefined
}

export interface MailWatcherOptions {
  /**
   * `all`: one reader lists the whole mailbox (`GET /api/messages?limit=`, newest first, paged with
   * `before=`) every `pollMs` and hands each message to its recipient — one query per interval
   * whatever the number of shoppers. `recipient`: each watching shopper reads their own
   * (`GET /api/messages?to=`) at most every `pollMs`, `concurrency` reads in flight. Both then
   * fetch the raw MIME of each new message once.
   */
  mode: 'all' | 'recipient'
  pollMs: number
  concurrency: number
  /** Mail received before this (epoch ms) is not the run's. */
  since: number
  /** Page size of `all` listings (the API allows up to 1000). */
  pageSize?: number
  /** Passed to `parseMail`. */
  variantPattern?: string
  now?: () => number
}

type MailboxClient = Pick<NudgeClient, 'listMessages' | 'rawMessage'>

/**
 * Reads the capture mailbox for the shoppers who are watching theirs and delivers each new message
 * to its recipient once, oldest first. A shopper watches from their identify until their window
 * ends; `finish` makes one last read for them first. The embedded store answers one query at a
 * time, and a mailbox listing reads the whole mailbox table, so the default (`all`) asks once per
 * interval however many shoppers there are: polling must not become the load that slows journeys.
 */
export class MailWatcher {
  private readonly watched = new Map<string, Watched>()
  private order: string[] = []
  private cursor = 0
  private inFlight = 0
  private timer: NodeJS.Timeout | undefined
  // `all` mode: messages already handled (delivered, or to nobody of ours), and the listing horizon.
  private readonly handled = new Set<string>()
  private horizon: number
  private cycle: Promise<void> | undefined
  private readonly cycleWaiters: (() => void)[] = []
  mailsSeen = 0
  errors = 0
  lastError: string | undefined
  private readonly parseOpts: { variantPattern?: string }

  constructor(
    private readonly client: MailboxClient,
    private readonly opts: MailWatcherOptions,
  ) {
    this.horizon = opts.since
    this.parseOpts = opts.variantPattern ? { variantPattern: opts.variantPattern } : {}
  }

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }

  watch(email: string, onMail: (mail: ReceivedMail) => void): void {
    if (this.watched.has(email)) return
    this.watched.set(email, { email, onMail, seen: new Set(), lastPoll: 0, polling: undefined })
    this.order.push(email)
    this.timer ??= setInterval(
      () => this.tick(),
      this.opts.mode === 'all' ? this.opts.pollMs : Math.max(5, Math.min(50, this.opts.pollMs / 4)),
    )
  }

  /** A last read for this shopper (whatever the interval), then no more deliveries to them. */
  async finish(email: string): Promise<void> {
    const w = this.watched.get(email)
    if (!w) return
    if (this.opts.mode === 'all') await this.nextCycle()
    else {
      await w.polling
      w.polling = this.poll(w)
      await w.polling
    }
    this.watched.delete(email)
    this.order = this.order.filter((e) => e !== email)
    if (!this.watched.size && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.watched.clear()
    this.order = []
    for (const w of this.cycleWaiters.splice(0)) w()
  }

  private tick(): void {
    if (this.opts.mode === 'all') {
      if (!this.cycle) this.startCycle()
      return
    }
    const now = this.now()
    let scanned = 0
    while (this.inFlight < this.opts.concurrency && scanned < this.order.length) {
      this.cursor = this.cursor % this.order.length
      const w = this.watched.get(this.order[this.cursor++]!)
      scanned++
      if (!w || w.polling || now - w.lastPoll < this.opts.pollMs) continue
      this.inFlight++
      w.polling = this.poll(w).finally(() => {
        this.inFlight--
        w.polling = undefined
      })
    }
  }

  // ── recipient mode ──

  private async poll(w: Watched): Promise<void> {
    w.lastPoll = this.now()
    try {
      const listed = await this.client.listMessages({ to: w.email })
      const fresh = listed.filter((m) => !w.seen.has(m.messageId) && parseReceivedAt(m.receivedAt) >= this.opts.since).sort(byReceived)
      for (const m of fresh) {
        const mail = await parseMail(await this.client.rawMessage(m.messageId), m, this.parseOpts)
        w.seen.add(m.messageId)
        this.mailsSeen++
        w.onMail(mail)
      }
    } catch (err) {
      // The next poll tries again; nothing was marked seen that was not delivered.
      this.failed(err)
    }
  }

  // ── all mode ──

  /** Resolves once a read that started after this call has finished (reads still come at most every `pollMs`). */
  private nextCycle(): Promise<void> {
    return new Promise((resolve) => {
      this.cycleWaiters.push(resolve)
      this.timer ??= setInterval(() => this.tick(), this.opts.pollMs)
    })
  }

  private startCycle(): void {
    const waiters = this.cycleWaiters.splice(0)
    this.cycle = this.readAll()
      .catch((err) => this.failed(err))
      .finally(() => {
        this.cycle = undefined
        for (const w of waiters) w()
      })
  }

  private async readAll(): Promise<void> {
    const listed = await listSince(this.client, this.horizon, this.opts.pageSize ?? 1000)
    let newest = this.horizon
    for (const m of listed.sort(byReceived)) {
      if (this.handled.has(m.messageId)) continue
      newest = Math.max(newest, parseReceivedAt(m.receivedAt))
      const to = m.to.map((a) => this.watched.get(a)).filter((w): w is Watched => !!w && !w.seen.has(m.messageId))
      if (!to.length) {
        // Nobody watching now. Ours but not yet watching (the identify is being stored) is looked
        // at again next time; the horizon keeps the listing short.
        if (!m.to.some((a) => this.watched.has(a))) this.handled.add(m.messageId)
        continue
      }
      const mail = await parseMail(await this.client.rawMessage(m.messageId), m, this.parseOpts)
      this.handled.add(m.messageId)
      for (const w of to) {
        w.seen.add(m.messageId)
        this.mailsSeen++
        w.onMail(mail)
      }
    }
    // Messages become visible in the store a little out of order: look back a few seconds.
    this.horizon = Math.max(this.horizon, newest - 5_000)
  }

  private failed(err: unknown): void {
    this.errors++
    this.lastError = String(err)
  }
}

const byReceived = (a: CapturedListing, b: CapturedListing) =>
  parseReceivedAt(a.receivedAt) - parseReceivedAt(b.receivedAt) || (a.messageId < b.messageId ? -1 : 1)

/** Every captured message received at or after `since` (newest first, paged by `before`). */
export async function listSince(client: Pick<NudgeClient, 'listMessages'>, since: number, pageSize = 1000): Promise<CapturedListing[]> {
  const out = new Map<string, CapturedListing>()
  let before: string | undefined
  for (;;) {
    const page = await client.listMessages({ limit: pageSize, ...(before ? { before } : {}) })
    for (const m of page) if (parseReceivedAt(m.receivedAt) >= since) out.set(m.messageId, m)
    const oldest = page[page.length - 1]
    if (page.length < pageSize || !oldest || parseReceivedAt(oldest.receivedAt) < since) break
    // `before` is exclusive; messages at the very same millisecond as the oldest are asked for again by the next read.
    if (before === oldest.receivedAt) break
    before = oldest.receivedAt
  }
  return [...out.values()]
}

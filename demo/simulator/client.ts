/**
 * The simulator's only way into Nudge: its public HTTP APIs. Events go to the Segment-compatible
 * `/v1/batch` with the write key as the Basic user; the admin key is used for nothing but reading
 * the capture mailbox (`GET /api/messages?to=`, `GET /api/messages/:id`); opens, clicks and
 * unsubscribes are the links in the mail, fetched as a mail client would.
 */

export interface ClientOptions {
  /** Nudge's base URL, e.g. http://127.0.0.1:3000 */
  url: string
  writeKey: string
  adminKey: string
  userAgent: string
  maxRetries: number
  timeoutMs: number
  fetch?: typeof fetch
  /** Aborts waits between retries. */
  signal?: AbortSignal
}

export interface CapturedListing {
  messageId: string
  receivedAt: string
  to: string[]
  subject: string
  deliveries: number
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`)
  }
}

export interface ClientStats {
  requests: number
  retries: number
  failures: number
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })

export class NudgeClient {
  readonly stats: ClientStats = { requests: 0, retries: 0, failures: 0 }
  private readonly base: string
  private readonly fetch: typeof fetch
  private readonly basic: string

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.url.replace(/\/+$/, '')
    this.fetch = opts.fetch ?? globalThis.fetch
    this.basic = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`
  }

  /** One request with retries on 429/503 (Retry-After honoured), other 5xx and network errors. */
  private async request(
    what: string,
    url: string,
    init: RequestInit,
    accept: (status: number) => boolean = (s) => s >= 200 && s < 300,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      this.stats.requests++
      let res: Response | undefined
      let error: unknown
      try {
        res = await this.fetch(url, { ...init, signal: AbortSignal.timeout(this.opts.timeoutMs) })
      } catch (err) {
        error = err
      }
      if (res && accept(res.status)) return res
      const retryable = !res || res.status === 429 || res.status >= 500
      if (!retryable || attempt >= this.opts.maxRetries) {
        this.stats.failures++
        if (!res) throw new Error(`${what}: ${String(error)}`)
        throw new HttpError(res.status, await res.text().catch(() => ''), what)
      }
      this.stats.retries++
      const after = Number(res?.headers.get('retry-after'))
      await res?.body?.cancel().catch(() => {})
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : Math.min(5000, 100 * 2 ** attempt), this.opts.signal)
    }
  }

  /** POST /v1/batch: resolves once Nudge answered 200 (stored). */
  async batch(events: readonly object[], sentAt: string): Promise<void> {
    const res = await this.request('POST /v1/batch', `${this.base}/v1/batch`, {
      method: 'POST',
      headers: { authorization: this.basic, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: events, sentAt }),
    })
    await res.body?.cancel().catch(() => {})
  }

  /** The capture mailbox's messages (to one address, or all), newest first (admin key, read only). */
  async listMessages(q: { to?: string; limit?: number; before?: string } = {}): Promise<CapturedListing[]> {
    const params = new URLSearchParams({ limit: String(q.limit ?? 100) })
    if (q.to) params.set('to', q.to)
    if (q.before) params.set('before', q.before)
    const res = await this.request('GET /api/messages', `${this.base}/api/messages?${params}`, {
      headers: { authorization: `Bearer ${this.opts.adminKey}` },
    })
    const body = (await res.json()) as { messages: CapturedListing[] }
    return body.messages
  }

  /** One captured message's raw MIME. */
  async rawMessage(messageId: string): Promise<string> {
    const res = await this.request('GET /api/messages/:id', `${this.base}/api/messages/${encodeURIComponent(messageId)}`, {
      headers: { authorization: `Bearer ${this.opts.adminKey}` },
    })
    return res.text()
  }

  /** A mail client loading the open pixel. */
  async open(pixelUrl: string): Promise<number> {
    const res = await this.request('GET pixel', pixelUrl, { headers: { 'user-agent': this.opts.userAgent } })
    await res.body?.cancel().catch(() => {})
    return res.status
  }

  /** A person following a tracked link: the redirect is read, not followed (the shop is not ours). */
  async click(linkUrl: string): Promise<{ status: number; location: string | null }> {
    const res = await this.request(
      'GET link',
      linkUrl,
      { redirect: 'manual', headers: { 'user-agent': this.opts.userAgent } },
      (s) => s >= 200 && s < 400,
    )
    await res.body?.cancel().catch(() => {})
    return { status: res.status, location: res.headers.get('location') }
  }

  /** RFC 8058 one-click unsubscribe, as a mailbox provider sends it. */
  async unsubscribe(url: string): Promise<number> {
    const res = await this.request('POST unsubscribe', url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.opts.userAgent },
      body: 'List-Unsubscribe=One-Click',
    })
    await res.body?.cancel().catch(() => {})
    return res.status
  }
}

interface Pending {
  events: object[]
  bytes: number
  resolve: (ackAt: number) => void
  reject: (err: unknown) => void
}

/**
 * Collects events from many shoppers into `/v1/batch` requests: a batch goes when it is full or
 * has waited `lingerMs`; an `immediate` send (a timing race) goes at once, taking whatever is
 * queued with it. Each caller's promise resolves with the time Nudge acknowledged its events
 * (stored), so a shopper never sends its next event before the previous one is stored.
 */
export class EventBatcher {
  private queue: Pending[] = []
  private queuedEvents = 0
  private queuedBytes = 0
  private timer: NodeJS.Timeout | undefined
  private inFlight = 0
  private readonly waiting: (() => void)[] = []
  batches = 0

  constructor(
    private readonly client: Pick<NudgeClient, 'batch'>,
    private readonly opts: { maxEvents: number; lingerMs: number; maxInFlight?: number; maxBytes?: number; now?: () => number },
  ) {}

  send(events: readonly object[], opts: { immediate?: boolean } = {}): Promise<number> {
    const bytes = events.reduce<number>((n, e) => n + JSON.stringify(e).length + 1, 0)
    const promise = new Promise<number>((resolve, reject) => {
      if (this.queuedBytes + bytes > (this.opts.maxBytes ?? 400_000) || this.queuedEvents + events.length > this.opts.maxEvents)
        this.flush(false)
      this.queue.push({ events: events.slice(), bytes, resolve, reject })
      this.queuedEvents += events.length
      this.queuedBytes += bytes
    })
    if (opts.immediate || this.queuedEvents >= this.opts.maxEvents) this.flush(!!opts.immediate)
    else this.timer ??= setTimeout(() => this.flush(false), this.opts.lingerMs)
    return promise
  }

  /** Sends what is queued. `urgent` skips the in-flight limit (a race must not wait behind a full pipe). */
  private flush(urgent: boolean): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (!this.queue.length) return
    const group = this.queue
    this.queue = []
    this.queuedEvents = 0
    this.queuedBytes = 0
    void this.post(group, urgent)
  }

  private async post(group: Pending[], urgent: boolean): Promise<void> {
    const limit = this.opts.maxInFlight ?? 4
    if (!urgent) while (this.inFlight >= limit) await new Promise<void>((r) => this.waiting.push(r))
    this.inFlight++
    this.batches++
    const now = this.opts.now ?? Date.now
    try {
      await this.client.batch(
        group.flatMap((p) => p.events),
        new Date(now()).toISOString(),
      )
      const at = now()
      for (const p of group) p.resolve(at)
    } catch (err) {
      for (const p of group) p.reject(err)
    } finally {
      this.inFlight--
      this.waiting.shift()?.()
    }
  }

  /** Sends whatever is queued now. */
  drain(): void {
    this.flush(false)
  }
}

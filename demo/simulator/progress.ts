/**
 * A progress bar on stderr: shoppers done, events sent, mails seen, races injected. On a
 * terminal it redraws one line; elsewhere (CI logs, a pipe) it prints a line every few seconds.
 */

export interface ProgressSnapshot {
  shoppers: number
  shoppersDone: number
  eventsSent: number
  mailsSeen: number
  racesInjected: number
  errors: number
  elapsedMs: number
}

export function renderProgress(p: ProgressSnapshot, width = 24): string {
  const share = p.shoppers ? Math.min(1, p.shoppersDone / p.shoppers) : 1
  const full = Math.round(share * width)
  const bar = `${'█'.repeat(full)}${'░'.repeat(width - full)}`
  const secs = (p.elapsedMs / 1000).toFixed(1)
  const n = (x: number) => x.toLocaleString('en-US')
  return `${bar} ${n(p.shoppersDone)}/${n(p.shoppers)} shoppers · ${n(p.eventsSent)} events · ${n(p.mailsSeen)} mails · ${n(p.racesInjected)} races${p.errors ? ` · ${n(p.errors)} errors` : ''} · ${secs}s`
}

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Redraw interval on a terminal (ms). */
  intervalMs?: number
  /** Line interval when not a terminal (ms). */
  logIntervalMs?: number
}

export class ProgressBar {
  private timer: NodeJS.Timeout | undefined
  private lastLog = 0
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean }

  constructor(
    private readonly snapshot: () => ProgressSnapshot,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr
  }

  start(): void {
    const tty = !!this.stream.isTTY
    const every = tty ? (this.opts.intervalMs ?? 200) : Math.min(this.opts.intervalMs ?? 1000, this.opts.logIntervalMs ?? 5000)
    this.timer = setInterval(() => this.draw(false), every)
    this.timer.unref?.()
  }

  private draw(final: boolean): void {
    const line = renderProgress(this.snapshot())
    if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K${final ? '\n' : ''}`)
    else {
      const now = Date.now()
      if (!final && now - this.lastLog < (this.opts.logIntervalMs ?? 5000)) return
      this.lastLog = now
      this.stream.write(`${line}\n`)
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.draw(true)
  }
}

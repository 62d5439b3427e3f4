import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../../clickhouse/store.js'
import { type DetectOptions, type Finding, INFORMATIONAL, detectFalseTriggers } from './falseTriggers.js'

/**
 * Checks new sends for false triggers every `intervalMs`, records each finding once in
 * `false_triggers` (what Grafana's dashboard and alert read), counts it for `/metrics` and logs
 * it as an error — zero is the goal, so any one is an alert.
 */
export class FalseTriggerMonitor {
  private timer?: NodeJS.Timeout
  private running?: Promise<void>
  private checkedUntil: number

  constructor(
    private readonly opts: {
      client: ClickHouseClient
      options: () => Omit<DetectOptions, 'from' | 'until'>
      intervalMs: number
      /** Sends are checked once they are this old (late facts — a conversion received after — still count). */
      settleMs?: number
      now?: () => number
      onFinding?: (f: Finding) => void
      /** Mail of an erased person (its tombstone): a check that read it before the erasure records nothing of it. */
      isErasedMessage?: (messageId: string) => boolean
      log?: (msg: string, extra?: Record<string, unknown>) => void
    },
  ) {
    this.checkedUntil = (opts.now ?? Date.now)() - 86_400_000
  }

  start(): void {
    if (!this.opts.intervalMs || this.timer) return
    this.timer = setInterval(
      () => void this.check().catch((err) => this.opts.log?.('false-trigger check failed', { err: String(err) })),
      this.opts.intervalMs,
    )
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** Waits for a check under way (an erasure lets it land, then deletes what it wrote). */
  async settled(): Promise<void> {
    await this.running
  }

  /** One pass over sends since the last one; resolves to the new findings. */
  check(): Promise<Finding[]> {
    const run = (this.running ?? Promise.resolve()).then(() => this.pass())
    this.running = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  private async pass(): Promise<Finding[]> {
    const now = (this.opts.now ?? Date.now)()
    const until = now - (this.opts.settleMs ?? 5_000)
    if (until <= this.checkedUntil) return []
    // Look back a window so a duplicate or a cap breach across the boundary is still seen.
    const found = await detectFalseTriggers(this.opts.client, { ...this.opts.options(), from: this.checkedUntil - 86_400_000, until })
    const known = new Set(
      (
        await selectRows<{ k: string }>(
          this.opts.client,
          "SELECT concat(message_id, '|', class) AS k FROM false_triggers WHERE at >= fromUnixTimestamp64Milli({from:Int64})",
          {
            from: this.checkedUntil - 86_400_000,
          },
        )
      ).map((r) => r.k),
    )
    const fresh = found.filter((f) => !known.has(`${f.messageId}|${f.class}`) && !this.opts.isErasedMessage?.(f.messageId))
    if (fresh.length)
      await this.opts.client.insert({
        table: 'false_triggers',
        format: 'JSONEachRow',
        values: fresh.map((f) => ({
          at: f.at,
          journey_id: f.journeyId,
          user_key: f.userKey,
          message_id: f.messageId,
          class: f.class,
          evidence: JSON.stringify(f.evidence),
        })),
      })
    for (const f of fresh) {
      this.opts.onFinding?.(f)
      if (!INFORMATIONAL.has(f.class))
        this.opts.log?.('false trigger', { class: f.class, journey: f.journeyId, messageId: f.messageId, evidence: f.evidence })
    }
    this.checkedUntil = until
    return fresh
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { isDataRefusal } from './storeRefusal.js'

/**
 * Rows that need not be stored before an answer (exposures, evaluations): gathered in memory and
 * inserted every `lingerMs` or `maxRows`, one insert at a time. A failed insert is retried with
 * the next one; past `maxPending` rows the oldest are dropped and counted, so a store outage
 * costs those rows, never the process's memory.
 *
 * A row the store refuses for its data (a value it cannot parse or hold) would fail every insert
 * it is part of, forever, and take every row batched with it along. So a batch refused for its
 * data is split in halves until the refused rows are alone; those are dropped and counted
 * (`refused`), the rest stored. Only an unavailable store keeps rows for the next flush.
 */
export class BufferedInsert<T extends Record<string, unknown>> {
  private pending: T[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | null = null
  dropped = 0
  /** Rows the store refused for their own data: dropped, never retried. */
  refused = 0

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
    private readonly opts: {
      lingerMs: number
      maxRows: number
      maxPending: number
      log?: (msg: string, extra?: Record<string, unknown>) => void
    },
  ) {}

  add(row: T): void {
    this.pending.push(row)
    if (this.pending.length > this.opts.maxPending) {
      const over = this.pending.length - this.opts.maxPending
      this.pending.splice(0, over)
      this.dropped += over
    }
    if (this.pending.length >= this.opts.maxRows) void this.flush()
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.lingerMs)
      this.timer.unref()
    }
  }

  /** Stores everything added so far (or logs why it could not). */
  async flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.flushing) await this.flushing
    if (!this.pending.length) return
    const rows = this.pending
    this.pending = []
    this.flushing = this.insert(rows).finally(() => {
      this.flushing = null
    })
    await this.flushing
  }

  /** Stores `rows`, isolating and dropping rows refused for their data; keeps the rest on an outage. */
  private async insert(rows: T[]): Promise<void> {
    try {
      await this.client.insert({ table: this.table, format: 'JSONEachRow', values: rows })
    } catch (err) {
      if (!isDataRefusal(err)) {
        this.opts.log?.(`insert into ${this.table} failed; will retry`, { err: String(err), rows: rows.length })
        this.pending = [...rows, ...this.pending]
        return
      }
      if (rows.length === 1) {
        this.refused++
        this.opts.log?.(`a row refused by ${this.table} was dropped (its data cannot be stored; retrying cannot help)`, {
          err: String(err).slice(0, 300),
        })
        return
      }
      const half = Math.ceil(rows.length / 2)
      await this.insert(rows.slice(0, half))
      await this.insert(rows.slice(half))
    }
  }
}

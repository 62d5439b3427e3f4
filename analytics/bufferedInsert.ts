import type { ClickHouseClient } from '@clickhouse/client'

/**
 * Rows that need not be stored before an answer (exposures, evaluations): gathered in memory and
 * inserted every `lingerMs` or `maxRows`, one insert at a time. A failed insert is retried with
 * the next one; past `maxPending` rows the oldest are dropped and counted, so a store outage
 * costs those rows, never the process's memory.
 */
export class BufferedInsert<T extends Record<string, unknown>> {
  private pending: T[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | null = null
  dropped = 0

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
    private readonly opts: { lingerMs: number; maxRows: number; maxPending: number; log?: (msg: string, extra?: Record<string, unknown>) => void },
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
    this.flushing = this.client
      .insert({ table: this.table, format: 'JSONEachRow', values: rows })
      .then(
        () => undefined,
        (err) => {
          this.opts.log?.(`insert into ${this.table} failed; will retry`, { err: String(err), rows: rows.length })
          this.pending = [...rows, ...this.pending]
        },
      )
      .finally(() => {
        this.flushing = null
      })
    await this.flushing
  }
}

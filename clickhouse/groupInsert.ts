import type { ClickHouseClient } from '@clickhouse/client'
import { ValidationError } from '../core/errors.js'
import { isDataRefusal } from './storeRefusal.js'

/**
 * Rows that must be stored before the caller goes on (a send's ledger entry, a journey step),
 * gathered into group commits: one insert per table carries everything added while the previous
 * one ran, and each `add` resolves once its rows are stored (or rejects with the insert's error,
 * so an activity fails and Temporal retries it).
 *
 * A group the store refuses for its data is retried one caller at a time, so one caller's
 * unstorable row fails that caller alone; the caller whose own rows are refused gets a
 * ValidationError (an activity's non-retryable failure: the same rows fail on every attempt),
 * never a retryable store error.
 */
export class GroupInsert<T extends Record<string, unknown>> {
  private pending: { rows: T[]; done: (err?: unknown) => void }[] = []
  private running: Promise<void> | null = null

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
  ) {}

  add(...rows: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, done: (err) => (err ? reject(err) : resolve()) })
      this.running ??= this.run()
    })
  }

  private async run(): Promise<void> {
    await new Promise((r) => setImmediate(r)) // let this tick's rows join
    while (this.pending.length) {
      const group = this.pending
      this.pending = []
      const err = await this.insert(group.flatMap((g) => g.rows))
      if (err && group.length > 1 && isDataRefusal(err)) for (const g of group) g.done(this.refusal(await this.insert(g.rows)))
      else for (const g of group) g.done(this.refusal(err))
    }
    this.running = null
  }

  private insert(values: T[]): Promise<unknown> {
    return this.client.insert({ table: this.table, format: 'JSONEachRow', values }).then(
      () => undefined,
      (e: unknown) => e ?? new Error('insert failed'),
    )
  }

  /** The error a caller gets: its own rows refused for their data is a permanent input error. */
  private refusal(err: unknown): unknown {
    if (!err || !isDataRefusal(err)) return err
    const text = (err instanceof Error ? err.message : String(err)).slice(0, 200)
    return new ValidationError(`${this.table}: the store cannot hold this row (${text}); retrying cannot help`, [
      { path: this.table, rule: 'storable', message: text },
    ])
  }

  async settled(): Promise<void> {
    while (this.running) await this.running
  }
}

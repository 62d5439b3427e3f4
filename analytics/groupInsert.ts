import type { ClickHouseClient } from '@clickhouse/client'

/**
 * Rows that must be stored before the caller goes on (a send's ledger entry, a journey step),
 * gathered into group commits: one insert per table carries everything added while the previous
 * one ran, and each `add` resolves once its rows are stored (or rejects with the insert's error,
 * so an activity fails and Temporal retries it).
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
      const values = group.flatMap((g) => g.rows)
      const err = await this.client.insert({ table: this.table, format: 'JSONEachRow', values }).then(() => undefined, (e: unknown) => e ?? new Error('insert failed'))
      for (const g of group) g.done(err)
    }
    this.running = null
  }

  async settled(): Promise<void> {
    while (this.running) await this.running
  }
}

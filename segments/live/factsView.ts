/** One user's facts as the evaluator reads them, and the view that reads them from a FactTable's columns. */
export interface Totals {
  n: number
  first: number
  last: number
  orders: number
  sales: number
  lastOrder: number
  cats?: Map<string, number>
}

/** times: number[] · count: number · pairs: [time, key][] · trait: [json text, at] · consent: [granted, at] */
export type SlotValue = number[] | number | [number, string][] | [string, number] | [boolean, number] | undefined

/** One user's facts, as the evaluator reads them. */
export interface FactsView {
  readonly seen: boolean
  slot(i: number): SlotValue
  totals(): Totals | undefined
}

/** What a RowView reads from (the FactTable). */
export interface RowSource {
  isSeen(i: number): boolean
  slotValue(i: number, s: number): SlotValue
  totalsOf(i: number): Totals | undefined
}

/**
 * One row, read on demand (no copy: evaluation reads a slot or two of a million rows). A pass
 * over every row moves one view along (`i`) and allocates nothing per user.
 */
export class RowView implements FactsView {
  constructor(
    private readonly table: RowSource,
    public i: number,
  ) {}

  get seen(): boolean {
    return this.table.isSeen(this.i)
  }

  slot(s: number): SlotValue {
    return this.table.slotValue(this.i, s)
  }

  totals(): Totals | undefined {
    return this.table.totalsOf(this.i)
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { Cursors } from './cursors.js'
import type { DestinationRecord } from './destinationRecord.js'
import type { DestinationDefinition } from './destinationSchema.js'
import { Outbox, type OutboxRow } from './outbox.js'
import { selects, traitsRecordIds, withTraits } from './routeRecords.js'
import { LIMIT, readConversions, readOutcomes, readSends, readTransitions, type SourceRead } from './sourceReads.js'

/**
 * Rows are read again this far back: a row stamped just before the last read can land just after
 * it (a group commit in flight, another process). Ids derived from the rows make the overlap harmless.
 */
export const OVERLAP_MS = 30_000

export interface FeederDeps {
  client: ClickHouseClient
  /** The destinations records go to: enabled, of a kind Nudge can send to. */
  destinations: () => DestinationDefinition[]
  /** Whether anything about the user may leave for this destination (consent to every topic; not erased). */
  mayLeave: (userKey: string, d: DestinationDefinition) => boolean
  traitsOf: (userKey: string) => Promise<Record<string, unknown>>
  onEnqueued?: (destinationId: string, n: number) => void
  onWithheld?: (destinationId: string, n: number) => void
  now?: () => number
}

/**
 * Moves new facts into the outbox: reads each source past its cursor, picks per destination the
 * records its selection takes (and consent allows), skips the ones it already has, enqueues the
 * rest, then advances the cursor. One poll at a time; a failed poll leaves the cursors where they
 * were, so the next one reads the same rows again.
 */
export class Feeder {
  private readonly cursors: Cursors
  private readonly outbox: Outbox
  private readonly now: () => number
  /** Per destination, the ids withheld at the previous poll (see countWithheld). */
  private readonly lastWithheld = new Map<string, Set<string>>()

  constructor(private readonly d: FeederDeps) {
    this.cursors = new Cursors(d.client)
    this.outbox = new Outbox(d.client, d.now)
    this.now = d.now ?? Date.now
  }

  async poll(): Promise<number> {
    const destinations = this.d.destinations()
    if (!destinations.length) return 0
    const conversionEvents = [
      ...new Set(
        destinations.flatMap((d) => (d.records.outcomes?.kinds.includes('converted') ? [d.records.outcomes.conversionEvent] : [])),
      ),
    ]
    const reads: [string, ReadSource][] = [
      ['segment_transitions', (s, o) => readTransitions(this.d.client, s, o)],
      ['send_ledger', (s, o) => readSends(this.d.client, s, o)],
      ['message_events', (s, o) => readOutcomes(this.d.client, s, o)],
      ['conversions', (s, o) => readConversions(this.d.client, s, conversionEvents, o)],
    ]
    const records: DestinationRecord[] = []
    const positions: [string, number][] = []
    for (const [source, readSource] of reads) {
      const cursor = await this.cursors.get(source)
      // A first start reads from (about) now: destinations receive what happens from here on, not
      // the history — the overlap's worth before, so a fact of the moment a destination was created is not missed.
      const position = cursor ?? this.now()
      const got = await readPages(readSource, Math.max(0, position - OVERLAP_MS), position)
      records.push(...got.records)
      positions.push([source, Math.max(position, got.until)])
    }
    let enqueued = 0
    const traits = memo(this.d.traitsOf)
    for (const dest of destinations) enqueued += await this.enqueue(dest, records, traits)
    for (const [source, position] of positions) await this.cursors.set(source, position, this.now())
    return enqueued
  }

  /**
   * Every poll re-reads the overlap, so a withheld record is seen about OVERLAP_MS / poll times:
   * counted once, when it was not among the previous poll's withheld records.
   */
  private countWithheld(destinationId: string, withheld: DestinationRecord[]): void {
    const before = this.lastWithheld.get(destinationId)
    const ids = new Set(withheld.map((r) => r.id))
    this.lastWithheld.set(destinationId, ids)
    let fresh = 0
    for (const id of ids) if (!before?.has(id)) fresh++
    if (fresh) this.d.onWithheld?.(destinationId, fresh)
  }

  private async enqueue(dest: DestinationDefinition, records: DestinationRecord[], traitsOf: FeederDeps['traitsOf']): Promise<number> {
    const allowed: DestinationRecord[] = []
    const withheld: DestinationRecord[] = []
    for (const r of records) {
      if (this.d.mayLeave(r.userKey, dest)) allowed.push(r)
      else if (selects(dest, r)) withheld.push(r)
    }
    const picked = allowed.filter((r) => selects(dest, r))
    this.countWithheld(dest.id, withheld)
    const candidates = [...picked.map((r) => r.id), ...traitsRecordIds(dest, allowed)]
    if (!candidates.length) return 0
    const known = await this.outbox.known(dest.id, candidates)
    // Traits are computed after the outbox answered: only for users whose traits record is new.
    const all = [...picked, ...(await withTraits(dest, allowed, traitsOf, known))]
    const now = this.now()
    const fresh = all.filter((r) => !known.has(r.id))
    const rows: OutboxRow[] = fresh.map((record, i) => ({
      destinationId: dest.id,
      record,
      // Event time orders a user's records; the traits record follows the record it was computed after.
      seq: record.at * 4096 + (record.kind === 'traits' ? 4095 : i % 4095),
      state: 'pending',
      attempts: 0,
      lastError: '',
      enqueuedAt: now,
      updatedAt: now,
    }))
    await this.outbox.write(rows)
    if (rows.length) this.d.onEnqueued?.(dest.id, rows.length)
    return rows.length
  }
}

/** Pages a poll reads of one source past its cursor at most; the rest waits for the next poll. */
const MAX_PAGES = 20

type ReadSource = (since: number, offset: number) => Promise<SourceRead>

/**
 * Reads a source page after page (by offset, in the read's fixed order) while pages come back full.
 * The overlap up to the cursor is always read through, and the page limit counts only once the read
 * has passed the cursor: so every poll moves the cursor on, however many rows share one millisecond
 * or crowd the overlap (paging by time stopped at a full page within one millisecond, and a limit
 * spent inside the overlap left the cursor where it was — the feeder read the same rows forever).
 */
async function readPages(readSource: ReadSource, since: number, cursor: number): Promise<{ records: DestinationRecord[]; until: number }> {
  const records: DestinationRecord[] = []
  let until = since
  for (let page = 1, offset = 0; ; page++, offset += LIMIT) {
    const got = await readSource(since, offset)
    records.push(...got.records)
    until = Math.max(until, got.until)
    if (!got.full || (page >= MAX_PAGES && until > cursor)) break
  }
  return { records: dedupe(records), until }
}

function dedupe(records: DestinationRecord[]): DestinationRecord[] {
  const seen = new Set<string>()
  return records.filter((r) => !seen.has(r.id) && seen.add(r.id))
}

function memo(f: (k: string) => Promise<Record<string, unknown>>): (k: string) => Promise<Record<string, unknown>> {
  const seen = new Map<string, Promise<Record<string, unknown>>>()
  return (k) => {
    let p = seen.get(k)
    if (!p) seen.set(k, (p = f(k)))
    return p
  }
}

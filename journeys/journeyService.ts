import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../ingest/identity/consentState.js'
import { selectRows } from '../clickhouse/store.js'
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js'
import { type JourneyDefinition, type JourneyStatus, journeyDefinition } from './journeySchema.js'
import { type JourneyCatalog, validateJourney } from './validateJourney.js'
import { withDurationUnits } from './legacyDurations.js'
import { toFieldIssues } from '../core/fieldIssues.js'

export interface StoredJourney {
  definition: JourneyDefinition
  status: JourneyStatus
  version: number
  updatedAt: number
}

/** Which moves between statuses are allowed. */
const MOVES: Record<JourneyStatus, JourneyStatus[]> = {
  draft: ['active', 'archived'],
  active: ['paused', 'archived'],
  paused: ['active', 'archived'],
  archived: [],
}

/**
 * Journey definitions: versioned in ClickHouse (every save and status change is a new version),
 * held in memory for the trigger router, refreshed when another process changes them. A run
 * keeps the version it started with; a new version applies to runs that start after it.
 */
export class JourneyService {
  private journeys = new Map<string, StoredJourney>()
  private stamp = ''
  private poller: NodeJS.Timeout | undefined
  private readonly listeners: (() => void)[] = []
  private readonly now: () => number

  constructor(
    private readonly opts: {
      client: ClickHouseClient
      catalog: JourneyCatalog
      pollMs?: number
      now?: () => number
      log?: (msg: string, extra?: Record<string, unknown>) => void
    },
  ) {
    this.now = opts.now ?? Date.now
  }

  async load(): Promise<void> {
    this.stamp = await this.currentStamp()
    const rows = await selectRows<{ def: string; status: JourneyStatus; v: number; at: string; gone: number }>(
      this.opts.client,
      'SELECT argMax(definition, version) AS def, argMax(status, version) AS status, max(version) AS v, argMax(updated_at, version) AS at, argMax(deleted, version) AS gone FROM journeys GROUP BY id',
    )
    const next = new Map<string, StoredJourney>()
    for (const r of rows) {
      if (Number(r.gone)) continue
      const definition = JSON.parse(r.def) as JourneyDefinition
      next.set(definition.id, { definition, status: r.status, version: Number(r.v), updatedAt: parseUtc(r.at) })
    }
    this.journeys = next
    for (const l of this.listeners) l()
  }

  start(): void {
    this.poller = setInterval(
      () => void this.refresh().catch((err) => this.opts.log?.('journey refresh failed', { err: String(err) })),
      this.opts.pollMs ?? 500,
    )
    this.poller.unref()
  }

  stop(): void {
    clearInterval(this.poller)
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener)
  }

  async refresh(): Promise<void> {
    if ((await this.currentStamp()) !== this.stamp) await this.load()
  }

  list(): StoredJourney[] {
    return [...this.journeys.values()].sort((a, b) => a.definition.id.localeCompare(b.definition.id))
  }

  active(): StoredJourney[] {
    return this.list().filter((j) => j.status === 'active')
  }

  get(id: string): StoredJourney {
    const j = this.journeys.get(id)
    if (!j) throw new NotFoundError(`No journey "${id}"`)
    return j
  }

  has(id: string): boolean {
    return this.journeys.has(id)
  }

  /** Parses and checks a definition (schema, step graph, references); 400 naming each bad field. */
  check(input: unknown): JourneyDefinition {
    const parsed = journeyDefinition.safeParse(input)
    if (!parsed.success) throw new ValidationError('Invalid journey', toFieldIssues(parsed.error, input))
    const issues = validateJourney(parsed.data, this.opts.catalog)
    if (issues.length) throw new ValidationError(`Invalid journey: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
    return parsed.data
  }

  async create(input: unknown, status: JourneyStatus = 'draft'): Promise<StoredJourney> {
    const def = this.check(input)
    if (this.journeys.has(def.id)) throw new ConflictError(`Journey "${def.id}" already exists; PUT /api/journeys/${def.id} to change it`)
    return this.write(def, status, 1)
  }

  /** A new version; runs already going keep theirs. */
  async update(id: string, input: unknown): Promise<StoredJourney> {
    const cur = this.get(id)
    const def = this.check({ ...(input as object), id })
    if (cur.status === 'archived') throw new ConflictError(`Journey "${id}" is archived`)
    return this.write(def, cur.status, cur.version + 1)
  }

  async setStatus(id: string, status: JourneyStatus): Promise<StoredJourney> {
    const cur = this.get(id)
    if (cur.status === status) return cur
    if (!MOVES[cur.status].includes(status))
      throw new ConflictError(`A ${cur.status} journey cannot become ${status}`, [
        { path: 'status', rule: 'transition', message: `${cur.status} → ${status} is not allowed` },
      ])
    if (status === 'active') this.check(withDurationUnits(cur.definition)) // references may have gone since it was saved
    return this.write(cur.definition, status, cur.version + 1)
  }

  async remove(id: string): Promise<void> {
    const cur = this.get(id)
    await this.insert(cur.definition, cur.status, cur.version + 1, 1)
    this.journeys.delete(id)
    this.stamp = await this.currentStamp()
    for (const l of this.listeners) l()
  }

  private async write(def: JourneyDefinition, status: JourneyStatus, version: number): Promise<StoredJourney> {
    const stored: StoredJourney = { definition: def, status, version, updatedAt: this.now() }
    await this.insert(def, status, version, 0)
    this.journeys.set(def.id, stored)
    this.stamp = await this.currentStamp()
    for (const l of this.listeners) l()
    return stored
  }

  private async insert(def: JourneyDefinition, status: JourneyStatus, version: number, deleted: number): Promise<void> {
    await this.opts.client.insert({
      table: 'journeys',
      format: 'JSONEachRow',
      values: [{ id: def.id, definition: JSON.stringify(def), status, version, updated_at: this.now(), deleted }],
    })
  }

  /** A definition as it was at a version (runs carry theirs; this serves the API's history). */
  async version(id: string, version: number): Promise<JourneyDefinition> {
    const [row] = await selectRows<{ definition: string }>(
      this.opts.client,
      'SELECT definition FROM journeys WHERE id = {id:String} AND version = {v:UInt32} LIMIT 1',
      { id, v: version },
    )
    if (!row) throw new NotFoundError(`No version ${version} of journey "${id}"`)
    return JSON.parse(row.definition) as JourneyDefinition
  }

  private async currentStamp(): Promise<string> {
    const [row] = await selectRows<{ n: string; at: string }>(this.opts.client, 'SELECT count() AS n, max(updated_at) AS at FROM journeys')
    return `${row?.n}:${row?.at}`
  }
}

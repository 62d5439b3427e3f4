import type { ClickHouseClient } from '@clickhouse/client'
import { type DefinitionKind, DefinitionStore } from '../clickhouse/definitions/definitionStore.js'
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

/** A journey's versions in the `journeys` table: its definition and status. */
const journeyKind: DefinitionKind<StoredJourney> = {
  table: 'journeys',
  key: 'id',
  deletable: true,
  columns: ['definition', 'status'],
  keyOf: (j) => j.definition.id,
  versionOf: (j) => j.version,
  timeOf: (j) => j.updatedAt,
  encode: (j) => ({ definition: JSON.stringify(j.definition), status: j.status }),
  decode: ({ columns: c, version, at }) => ({
    definition: JSON.parse(String(c.definition)) as JourneyDefinition,
    status: c.status as JourneyStatus,
    version,
    updatedAt: at,
  }),
}

/**
 * Journey definitions: versioned in ClickHouse (every save and status change is a new version),
 * held in memory for the trigger router, refreshed when another process changes them. A run
 * keeps the version it started with; a new version applies to runs that start after it.
 */
export class JourneyService {
  private readonly journeys: DefinitionStore<StoredJourney>
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
    this.journeys = new DefinitionStore(opts.client, journeyKind, { log: opts.log })
  }

  load(): Promise<void> {
    return this.journeys.load()
  }

  start(): void {
    this.journeys.start(this.opts.pollMs ?? 500)
  }

  stop(): void {
    this.journeys.stop()
  }

  onChange(listener: () => void): void {
    this.journeys.onChange(() => listener())
  }

  refresh(): Promise<void> {
    return this.journeys.refresh()
  }

  list(): StoredJourney[] {
    return this.journeys.list()
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
    return this.write(def, status, await this.journeys.nextVersion(def.id))
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
    await this.journeys.remove({ ...cur, version: cur.version + 1, updatedAt: this.now() })
  }

  private write(definition: JourneyDefinition, status: JourneyStatus, version: number): Promise<StoredJourney> {
    return this.journeys.save({ definition, status, version, updatedAt: this.now() })
  }

  /** A definition as it was at a version (runs carry theirs; this serves the API's history). */
  async version(id: string, version: number): Promise<JourneyDefinition> {
    const [stored] = await this.journeys.versions(id, version)
    if (!stored) throw new NotFoundError(`No version ${version} of journey "${id}"`)
    return stored.definition
  }
}

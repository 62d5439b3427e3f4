import type { ClickHouseClient } from '@clickhouse/client'
import { type DefinitionKind, DefinitionStore } from '../clickhouse/definitions/definitionStore.js'
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js'
import type { Rule, SegmentDefinition } from './ruleSchema.js'
import { type Triggers, triggersOf } from './triggers.js'
import { findCycle, referencedSegments, validateRule } from './validateRule.js'

export interface StoredSegment {
  definition: SegmentDefinition
  version: number
  updatedAt: number
}

/** A segment as held: with what can change its membership. */
export interface LoadedSegment extends StoredSegment {
  triggers: Triggers
}

/** Segment versions in the `segments` table (name and description are stored beside the definition). */
const segmentKind: DefinitionKind<StoredSegment, LoadedSegment> = {
  table: 'segments',
  key: 'id',
  deletable: true,
  columns: ['definition'],
  keyOf: (s) => s.definition.id,
  versionOf: (s) => s.version,
  timeOf: (s) => s.updatedAt,
  encode: ({ definition: d }) => ({ name: d.name, description: d.description ?? '', definition: JSON.stringify(d) }),
  decode: (r) => ({ definition: JSON.parse(String(r.columns.definition)) as SegmentDefinition, version: r.version, updatedAt: r.at }),
  prepare: (s) => ({ ...s, triggers: triggersOf(s.definition.rule) }),
}

/**
 * The segment definitions: versioned in ClickHouse, held in memory, each rule checked (shape,
 * references, cycles) before it is stored. Definitions are read once at start, not polled: they
 * change where they are saved, in the process that evaluates them.
 */
export class SegmentCatalog {
  private readonly store: DefinitionStore<StoredSegment, LoadedSegment>

  constructor(client: ClickHouseClient, log?: (msg: string, extra?: Record<string, unknown>) => void) {
    this.store = new DefinitionStore(client, segmentKind, { log })
  }

  /** Every segment held, by id (a live view). */
  get segments(): ReadonlyMap<string, LoadedSegment> {
    return this.store.entries
  }

  load(): Promise<void> {
    return this.store.load()
  }

  has(id: string): boolean {
    return this.store.has(id)
  }

  find(id: string): LoadedSegment {
    const s = this.store.get(id)
    if (!s) throw new NotFoundError(`No segment "${id}"`)
    return s
  }

  /** The ids of the segments whose rules refer to this one. */
  dependentsOf(id: string): string[] {
    return [...this.segments.values()].filter((o) => o.triggers.segments.has(id)).map((o) => o.definition.id)
  }

  /** Validates a rule (shape, references, cycles) for `id`; throws a 400 naming the bad node. */
  check(id: string, input: unknown): Rule {
    const { rule, issues } = validateRule(input)
    if (!rule) throw new ValidationError(`Invalid rule: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues)
    for (const ref of referencedSegments(rule))
      if (!this.has(ref) && ref !== id)
        throw new ValidationError(`Unknown segment "${ref}"`, [
          { path: 'rule', rule: 'reference', message: `refers to unknown segment "${ref}"` },
        ])
    const cycle = findCycle(id, rule, (other) => this.store.get(other)?.definition.rule)
    if (cycle)
      throw new ValidationError(`Reference cycle: ${cycle.join(' → ')}`, [
        { path: 'rule', rule: 'cycle', message: `reference cycle ${cycle.join(' → ')}` },
      ])
    return rule
  }

  /** Whether a save may go ahead: `mustExist` true = a replace (PUT), false = a create (POST). */
  checkSave(id: string, mustExist?: boolean): void {
    if (mustExist && !this.has(id)) throw new NotFoundError(`No segment "${id}"`)
    if (mustExist === false && this.has(id)) throw new ConflictError(`Segment "${id}" already exists; PUT /api/segments/${id} to change it`)
  }

  /** Stores a checked definition as a new version. After a delete the id's history goes on: a re-created segment outranks its deletion. */
  async save(definition: SegmentDefinition, at: number): Promise<LoadedSegment> {
    return this.store.save({ definition, version: await this.store.nextVersion(definition.id), updatedAt: at })
  }

  /** Stores the segment's deletion; refused while other segments refer to it. */
  async remove(id: string, at: number): Promise<LoadedSegment> {
    const s = this.find(id)
    const users = this.dependentsOf(id)
    if (users.length) throw new ConflictError(`Segment "${id}" is used by ${users.join(', ')}; change those first`)
    await this.store.remove({ definition: s.definition, version: s.version + 1, updatedAt: at })
    return s
  }
}

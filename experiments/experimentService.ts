import type { ClickHouseClient } from '@clickhouse/client'
import { BufferedInsert } from '../clickhouse/bufferedInsert.js'
import { DefinitionStore } from '../clickhouse/definitions/definitionStore.js'
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js'
import { type AssignContext, type Assignment, assign, explainAssignment, rangesOverlap } from './assign.js'
import { type Experiment, type ExperimentDefinition, type ExperimentStatus, SAFE_WHILE_RUNNING } from './experimentSchema.js'
import { ExperimentStore, experimentKind } from './experimentStore.js'

/**
 * Experiments: definitions and their lifecycle (draft → running → stopped → rolled out), sticky
 * assignment, and first exposures logged to ClickHouse. Definitions live in memory (assignment
 * needs no I/O) and follow changes made by other processes within `pollMs`.
 */
export interface ExperimentServiceOptions {
  client: ClickHouseClient
  /** Share of all units held out of every journey email. */
  globalHoldout: number
  isMember: (segmentId: string, unit: string) => boolean
  pollMs?: number
  now?: () => number
  log?: (msg: string, extra?: Record<string, unknown>) => void
}

export interface Warning {
  path: string
  message: string
}

const TRANSITIONS: Record<string, ExperimentStatus[]> = {
  draft: ['running'],
  running: ['stopped'],
  stopped: ['rolled_out', 'running'],
  rolled_out: [],
}

export class ExperimentService {
  private readonly store: ExperimentStore
  private readonly experiments: DefinitionStore<Experiment>
  private readonly exposures: BufferedInsert<Record<string, unknown>>
  /** Units whose first exposure this process has already logged, per experiment (bounded). */
  private exposed = new Set<string>()
  private readonly now: () => number

  constructor(private readonly opts: ExperimentServiceOptions) {
    this.store = new ExperimentStore(opts.client)
    this.experiments = new DefinitionStore(opts.client, experimentKind, { log: opts.log })
    this.now = opts.now ?? Date.now
    this.exposures = new BufferedInsert(opts.client, 'experiment_exposures', {
      lingerMs: 200,
      maxRows: 10_000,
      maxPending: 1_000_000,
      log: opts.log,
    })
  }

  load(): Promise<void> {
    return this.experiments.load()
  }

  /** Follows changes made by other processes (a worker sees a start within `pollMs`). */
  start(): void {
    this.experiments.start(this.opts.pollMs ?? 500)
  }

  async stop(): Promise<void> {
    this.experiments.stop()
    await this.exposures.flush()
  }

  onChange(listener: () => void): void {
    this.experiments.onChange(() => listener())
  }

  refresh(): Promise<void> {
    return this.experiments.refresh()
  }

  list(): Experiment[] {
    return this.experiments.list()
  }

  has(key: string): boolean {
    return this.experiments.has(key)
  }

  get(key: string): Experiment {
    const e = this.experiments.get(key)
    if (!e) throw new NotFoundError(`No experiment "${key}"`)
    return e
  }

  /** Creates a draft. Metrics on events never seen are warnings, not errors (they may come later). */
  async create(def: ExperimentDefinition): Promise<{ experiment: Experiment; warnings: Warning[] }> {
    if (this.experiments.has(def.key))
      throw new ConflictError(`Experiment "${def.key}" already exists; PUT /api/experiments/${def.key} to change it`)
    const e: Experiment = { definition: def, status: 'draft', version: await this.experiments.nextVersion(def.key), updatedAt: this.now() }
    await this.experiments.save(e)
    return { experiment: e, warnings: await this.warnings(def) }
  }

  /** A draft changes freely; a running experiment only in what cannot mix up its data. */
  async update(key: string, def: ExperimentDefinition): Promise<{ experiment: Experiment; warnings: Warning[] }> {
    const cur = this.get(key)
    if (def.key !== key)
      throw new ValidationError('The key cannot change', [{ path: 'key', rule: 'immutable', message: 'the key cannot change' }])
    if (cur.status !== 'draft') {
      const changed = (Object.keys(def) as (keyof ExperimentDefinition)[])
        .concat(Object.keys(cur.definition) as (keyof ExperimentDefinition)[])
        .filter(
          (f) => !(SAFE_WHILE_RUNNING as readonly string[]).includes(f) && JSON.stringify(def[f]) !== JSON.stringify(cur.definition[f]),
        )
      if (changed.length)
        throw new ConflictError(
          `A ${cur.status} experiment cannot change ${[...new Set(changed)].join(', ')} (it would corrupt its data); create a new experiment`,
          [...new Set(changed)].map((f) => ({ path: f, rule: 'immutable_while_running', message: `cannot change while ${cur.status}` })),
        )
    }
    const e: Experiment = { ...cur, definition: def, version: cur.version + 1, updatedAt: this.now() }
    await this.experiments.save(e)
    return { experiment: e, warnings: await this.warnings(def) }
  }

  async transition(key: string, to: ExperimentStatus, winner?: string): Promise<Experiment> {
    const cur = this.get(key)
    if (!TRANSITIONS[cur.status]!.includes(to)) throw new ConflictError(`Cannot go from ${cur.status} to ${to}`)
    const next: Experiment = { ...cur, status: to, version: cur.version + 1, updatedAt: this.now() }
    if (to === 'running') {
      this.checkLayer(cur)
      next.startedAt ??= this.now()
    }
    if (to === 'stopped') next.stoppedAt = this.now()
    if (to === 'rolled_out') {
      if (!winner || !cur.definition.variants.some((v) => v.key === winner))
        throw new ValidationError(`Roll out one of the variants: ${cur.definition.variants.map((v) => v.key).join(', ')}`, [
          { path: 'variant', rule: 'one_of', message: `must be one of ${cur.definition.variants.map((v) => v.key).join(', ')}` },
        ])
      next.rolledOut = winner
    }
    await this.experiments.save(next)
    return next
  }

  async remove(key: string): Promise<void> {
    const cur = this.get(key)
    if (cur.status === 'running') throw new ConflictError(`Experiment "${key}" is running; stop it first`)
    await this.experiments.remove({ ...cur, version: cur.version + 1, updatedAt: this.now() })
  }

  /** The unit's variant; a unit in the experiment has its first exposure logged (once). */
  assign(key: string, unit: string, context: Record<string, unknown> = {}): Assignment {
    const a = assign(this.get(key), unit, this.assignContext())
    if (a.inExperiment) this.expose(a, context)
    return a
  }

  /** The unit's variant without exposing it (nothing is logged): for analysis, never for serving. */
  peek(key: string, unit: string): Assignment {
    return assign(this.get(key), unit, this.assignContext())
  }

  /** Why a unit gets what it gets, and when it was first exposed (nothing is logged). */
  async explain(
    key: string,
    unit: string,
  ): Promise<Assignment & { explanation: string; firstExposure: { variant: string; at: string } | null }> {
    await this.exposures.flush()
    const exp = this.get(key)
    const a = assign(exp, unit, this.assignContext())
    const first = await this.store.firstExposure(key, unit)
    return {
      ...a,
      explanation: explainAssignment(exp, a, this.opts.globalHoldout),
      firstExposure: first ? { variant: first.variant, at: new Date(first.at).toISOString() } : null,
    }
  }

  /** Waits until every exposure logged so far is stored (tests, shutdown). */
  flush(): Promise<void> {
    return this.exposures.flush()
  }

  /** Exposure rows the store refused for their own data (dropped, never retried): for /metrics. */
  get refusedExposures(): number {
    return this.exposures.refused
  }

  /** After an erasure: these units' exposures are no longer remembered (they were deleted from the store). */
  forgetUnits(units: readonly string[]): void {
    const gone = new Set(units)
    for (const id of this.exposed) if (gone.has(id.slice(id.indexOf('\u0000') + 1))) this.exposed.delete(id)
  }

  knowsUnit(units: readonly string[]): boolean {
    const ids = new Set(units)
    for (const id of this.exposed) if (ids.has(id.slice(id.indexOf('\u0000') + 1))) return true
    return false
  }

  private expose(a: Assignment, context: Record<string, unknown>): void {
    const id = `${a.experiment}\u0000${a.unit}`
    if (this.exposed.has(id)) return
    if (this.exposed.size >= 2_000_000) this.exposed = new Set() // the table collapses repeats anyway
    this.exposed.add(id)
    const at = this.now()
    this.exposures.add({
      experiment_key: a.experiment,
      unit: a.unit,
      variant: a.variant,
      first_at: at,
      context: JSON.stringify(context),
      rank: Number.MAX_SAFE_INTEGER - at,
    })
  }

  private assignContext(): AssignContext {
    return { now: this.now(), globalHoldout: this.opts.globalHoldout, isMember: this.opts.isMember }
  }

  /** Two running experiments in one layer must own disjoint parts of it. */
  private checkLayer(e: Experiment): void {
    const layer = e.definition.layer
    if (!layer) return
    for (const other of this.experiments.entries.values()) {
      const o = other.definition.layer
      if (other.status !== 'running' || other.definition.key === e.definition.key || !o || o.id !== layer.id) continue
      if (rangesOverlap(layer.range, o.range))
        throw new ConflictError(
          `Layer "${layer.id}": [${layer.range.join(', ')}) overlaps running experiment "${other.definition.key}" [${o.range.join(', ')})`,
          [{ path: 'layer.range', rule: 'overlap', message: `overlaps "${other.definition.key}"` }],
        )
    }
  }

  private async warnings(def: ExperimentDefinition): Promise<Warning[]> {
    const metrics = [
      ['primaryMetric', def.primaryMetric] as const,
      ...def.secondaryMetrics.map((m, i) => [`secondaryMetrics[${i}]`, m] as const),
      ...def.guardrailMetrics.map((m, i) => [`guardrailMetrics[${i}]`, m] as const),
    ]
    const known = await this.store.knownEvents([...new Set(metrics.map(([, m]) => m.event))])
    return metrics
      .filter(([, m]) => !known.has(m.event))
      .map(([path, m]) => ({ path: `${path}.event`, message: `no "${m.event}" event has been received yet` }))
  }
}

import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../ingest/identity/consentState.js'
import type { DefinitionKind } from '../clickhouse/definitions/definitionStore.js'
import { selectRows } from '../clickhouse/store.js'
import type { Experiment, ExperimentDefinition, ExperimentStatus } from './experimentSchema.js'

/** An experiment's versions in the `experiments` table: its definition and its lifecycle. */
export const experimentKind: DefinitionKind<Experiment> = {
  table: 'experiments',
  key: 'key',
  deletable: true,
  columns: ['definition', 'status', 'rolled_out', 'started_at', 'stopped_at'],
  keyOf: (e) => e.definition.key,
  versionOf: (e) => e.version,
  timeOf: (e) => e.updatedAt,
  encode: (e) => ({
    definition: JSON.stringify(e.definition),
    status: e.status,
    rolled_out: e.rolledOut ?? '',
    started_at: e.startedAt ?? null,
    stopped_at: e.stoppedAt ?? null,
  }),
  decode: ({ columns: c, version, at }) => ({
    definition: JSON.parse(String(c.definition)) as ExperimentDefinition,
    status: c.status as ExperimentStatus,
    ...(c.rolled_out ? { rolledOut: String(c.rolled_out) } : {}),
    version,
    updatedAt: at,
    ...(c.started_at ? { startedAt: parseUtc(String(c.started_at)) } : {}),
    ...(c.stopped_at ? { stoppedAt: parseUtc(String(c.stopped_at)) } : {}),
  }),
}

/** Experiments' first exposures, and the events their metrics name. */
export class ExperimentStore {
  constructor(private readonly client: ClickHouseClient) {}

  async firstExposure(key: string, unit: string): Promise<{ variant: string; at: number } | null> {
    const [row] = await selectRows<{ variant: string; at: string }>(
      this.client,
      'SELECT argMin(variant, first_at) AS variant, min(first_at) AS at FROM experiment_exposures WHERE experiment_key = {key:String} AND unit = {unit:String} HAVING count() > 0',
      { key, unit },
    )
    return row ? { variant: row.variant, at: parseUtc(row.at) } : null
  }

  /** Which of these event names were ever seen (metrics on unknown events earn a warning). */
  async knownEvents(names: string[]): Promise<Set<string>> {
    if (!names.length) return new Set()
    const rows = await selectRows<{ event: string }>(
      this.client,
      'SELECT DISTINCT event FROM events WHERE event IN {names:Array(String)}',
      { names },
    )
    return new Set(rows.map((r) => r.event))
  }
}

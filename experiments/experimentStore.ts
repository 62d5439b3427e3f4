import type { ClickHouseClient } from '@clickhouse/client'
import { parseUtc } from '../ingest/identity/consentState.js'
import { selectRows } from '../clickhouse/store.js'
import type { Experiment, ExperimentDefinition, ExperimentStatus } from './experimentSchema.js'

/** Experiments in ClickHouse: versioned definitions with their lifecycle, and first exposures. */
export class ExperimentStore {
  constructor(private readonly client: ClickHouseClient) {}

  async loadAll(): Promise<Experiment[]> {
    const rows = await selectRows<{
      def: string
      status: ExperimentStatus
      won: string
      v: number
      at: string
      started: string | null
      stopped: string | null
      gone: number
    }>(
      this.client,
      `SELECT argMax(definition, version) AS def, argMax(status, version) AS status, argMax(rolled_out, version) AS won, max(version) AS v,
              argMax(updated_at, version) AS at, argMax(started_at, version) AS started, argMax(stopped_at, version) AS stopped, argMax(deleted, version) AS gone
       FROM experiments GROUP BY key`,
    )
    return rows
      .filter((r) => Number(r.gone) === 0)
      .map((r) => ({
        definition: JSON.parse(r.def) as ExperimentDefinition,
        status: r.status,
        ...(r.won ? { rolledOut: r.won } : {}),
        version: Number(r.v),
        updatedAt: parseUtc(r.at),
        ...(r.started ? { startedAt: parseUtc(r.started) } : {}),
        ...(r.stopped ? { stoppedAt: parseUtc(r.stopped) } : {}),
      }))
  }

  /** The highest version ever stored for a key, deletions included (0 if none). */
  async lastVersion(key: string): Promise<number> {
    const [row] = await selectRows<{ v: number }>(this.client, 'SELECT max(version) AS v FROM experiments WHERE key = {key:String}', {
      key,
    })
    return Number(row?.v ?? 0)
  }

  async save(e: Experiment, deleted = false): Promise<void> {
    await this.client.insert({
      table: 'experiments',
      format: 'JSONEachRow',
      values: [
        {
          key: e.definition.key,
          definition: JSON.stringify(e.definition),
          status: e.status,
          rolled_out: e.rolledOut ?? '',
          version: e.version,
          updated_at: e.updatedAt,
          started_at: e.startedAt ?? null,
          stopped_at: e.stoppedAt ?? null,
          deleted: deleted ? 1 : 0,
        },
      ],
    })
  }

  /** Changes anywhere (another process) show as a new stamp. */
  async stamp(): Promise<string> {
    const [row] = await selectRows<{ s: string }>(this.client, 'SELECT toString(max(updated_at)) AS s FROM experiments')
    return row?.s ?? ''
  }

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

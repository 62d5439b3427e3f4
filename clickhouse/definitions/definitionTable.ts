import type { ClickHouseClient } from '@clickhouse/client'
import { selectRows } from '../store.js'

/**
 * How one kind of definition (segments, flags, experiments, journeys, templates) is laid out in
 * its table. Every save is a new row with a higher `version`; the highest version of a key is
 * current, and a version can mark the key deleted. Names here are code constants, never input:
 * they are checked once, and every value in a query is a bound parameter.
 */
export interface DefinitionTableSpec {
  table: string
  /** The key column ('id' or 'key'). */
  key: string
  /** The column holding when a version was written (default `updated_at`). */
  time?: string
  /** Whether a version can mark its key deleted (a `deleted` UInt8 column). */
  deletable: boolean
  /** The other columns read back (`definition`, `status`, …): the current version's value of each. */
  columns: readonly string[]
}

/** One stored version, as read: the spec's columns by name. */
export interface DefinitionRow {
  key: string
  version: number
  /** When the version was written (ms). */
  at: number
  deleted: boolean
  columns: Record<string, unknown>
}

/** What a write stores besides the spec's key, version, time and deleted columns. */
export interface DefinitionWrite {
  key: string
  version: number
  at: number
  deleted: boolean
  columns: Record<string, unknown>
}

const NAME = /^[a-z_][a-z0-9_]*$/

/** The SQL of a definition table: current versions, version numbers, a change stamp, history. */
export class DefinitionTable {
  private readonly time: string

  constructor(
    private readonly client: ClickHouseClient,
    private readonly spec: DefinitionTableSpec,
  ) {
    this.time = spec.time ?? 'updated_at'
    for (const name of [spec.table, spec.key, this.time, ...spec.columns])
      if (!NAME.test(name)) throw new Error(`Not a column or table name: "${name}"`)
  }

  /** The current version of every key, deleted keys included (`deleted` says so). */
  async current(): Promise<DefinitionRow[]> {
    const { table, key, columns, deletable } = this.spec
    const rows = await selectRows<Record<string, unknown>>(
      this.client,
      `SELECT ${key} AS k, max(version) AS v, toUnixTimestamp64Milli(argMax(${this.time}, version)) AS at,
              ${deletable ? 'argMax(deleted, version)' : '0'} AS gone${columns.map((c, i) => `, argMax(${c}, version) AS c${i}`).join('')}
       FROM ${table} GROUP BY ${key}`,
    )
    return rows.map((r) => this.row(r, String(r.k)))
  }

  /** The highest version ever stored for a key, deletions included (0 if none). */
  async lastVersion(key: string): Promise<number> {
    const [row] = await selectRows<{ v: number | string | null }>(
      this.client,
      `SELECT max(version) AS v FROM ${this.spec.table} WHERE ${this.spec.key} = {key:String}`,
      { key },
    )
    return Number(row?.v ?? 0)
  }

  /** Moves whenever any process writes a version (the row count catches two writes in one millisecond). */
  async stamp(): Promise<string> {
    const [row] = await selectRows<{ n: number | string; at: string }>(
      this.client,
      `SELECT count() AS n, toString(max(${this.time})) AS at FROM ${this.spec.table}`,
    )
    return `${row?.n}|${row?.at}`
  }

  /**
   * Every stored version of a key, oldest first; with `version`, only that one. Tables that keep
   * one row per key (ReplacingMergeTree) keep only the last version once merged.
   */
  async versions(key: string, version?: number): Promise<DefinitionRow[]> {
    const { table, columns, deletable } = this.spec
    const rows = await selectRows<Record<string, unknown>>(
      this.client,
      `SELECT version AS v, toUnixTimestamp64Milli(${this.time}) AS at, ${deletable ? 'deleted' : '0'} AS gone${columns.map((c, i) => `, ${c} AS c${i}`).join('')}
       FROM ${table} WHERE ${this.spec.key} = {key:String}${version === undefined ? '' : ' AND version = {version:UInt32}'}
       ORDER BY version`,
      version === undefined ? { key } : { key, version },
    )
    return rows.map((r) => this.row(r, key))
  }

  async write(w: DefinitionWrite): Promise<void> {
    if (w.deleted && !this.spec.deletable) throw new Error(`${this.spec.table}: versions cannot be deleted`)
    await this.client.insert({
      table: this.spec.table,
      format: 'JSONEachRow',
      values: [
        {
          ...w.columns,
          [this.spec.key]: w.key,
          version: w.version,
          [this.time]: w.at,
          ...(this.spec.deletable ? { deleted: w.deleted ? 1 : 0 } : {}),
        },
      ],
    })
  }

  private row(r: Record<string, unknown>, key: string): DefinitionRow {
    return {
      key,
      version: Number(r.v),
      at: Number(r.at),
      deleted: Number(r.gone) === 1,
      columns: Object.fromEntries(this.spec.columns.map((c, i) => [c, r[`c${i}`]])),
    }
  }
}

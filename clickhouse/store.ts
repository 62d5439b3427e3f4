import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client'

/**
 * The one ClickHouse client Nudge uses, with either transport: HTTP to a server/cluster, or the
 * embedded engine (chdb) in this process. Everything above this file is the same SQL either way.
 */
export interface Store {
  client: ClickHouseClient
  kind: 'chdb' | 'http'
  describe: string
  ping(): Promise<boolean>
  close(): Promise<void>
}

export interface StoreOptions {
  /** http(s)://host:8123 — when absent, the embedded engine is used. */
  url?: string
  user?: string
  password?: string
  database?: string
  /** Data directory for the embedded engine (one process per directory). */
  dataDir?: string
  requestTimeoutMs?: number
  /** More query settings for the server (a cluster's: clusterSettings.ts). */
  settings?: ClickHouseSettings
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const settings = {
    // Dates come back as ISO-ish strings with milliseconds; we parse them at the edge.
    date_time_output_format: 'iso' as const,
    output_format_json_quote_64bit_integers: 0 as const,
  }
  if (opts.url) {
    const client = createClient({
      url: opts.url,
      username: opts.user,
      password: opts.password,
      database: opts.database,
      request_timeout: opts.requestTimeoutMs ?? 30_000,
      clickhouse_settings: { ...settings, ...opts.settings },
    })
    return wrap(client, 'http', opts.url.replace(/\/\/[^@/]*@/, '//***@'))
  }
  const dir = resolve(opts.dataDir ?? '.data/clickhouse')
  mkdirSync(dir, { recursive: true })
  // chdb/connection is loaded lazily so a server deployment never loads the native engine.
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: dir })
  const client = createClient({
    connection,
    clickhouse_settings: settings,
  } as Parameters<typeof createClient>[0])
  return wrap(client, 'chdb', `chdb:${dir}`)
}

function wrap(client: ClickHouseClient, kind: Store['kind'], describe: string): Store {
  let closed = false
  return {
    client,
    kind,
    describe,
    async ping() {
      if (closed) return false
      try {
        const r = await client.ping()
        return r.success
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      await client.close()
      if (kind === 'chdb') {
        // Wait until the engine has really released the directory before anyone reopens it.
        const chdb = (await import('chdb')) as unknown as { drainPending?: () => Promise<void> }
        await chdb.drainPending?.()
      }
    },
  }
}

/** Runs a SELECT with bound parameters and returns its rows. */
export async function selectRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

import { join } from 'node:path'
import type { ClusterOptions } from '../clickhouse/clusterDdl.js'
import { CLUSTER_QUERY_SETTINGS } from '../clickhouse/clusterSettings.js'
import { loadMigrations, migrate } from '../clickhouse/migrate.js'
import { type Store, openStore } from '../clickhouse/store.js'
import { type ContactCipher, createContactCipher } from '../core/contactCipher.js'
import type { Logger } from '../core/log.js'
import type { Config } from './config.js'
import { type Secrets, loadSecrets } from './secrets.js'

export interface OpenedStore {
  secrets: Secrets
  cipher: ContactCipher
  /** The main connection: migrated, ingest and definitions write on it. */
  store: Store
  /** Another connection to the same store (the embedded engine runs one statement at a time per connection). */
  openConnection: () => Promise<Store>
  /** CLICKHOUSE_CLUSTER and the client's database, when the store is a cluster. */
  cluster?: ClusterOptions
}

/** The secrets, then the store: opened and migrated before anything reads it. */
export async function openMigratedStore(config: Config, log: Logger): Promise<OpenedStore> {
  const secrets = loadSecrets(
    {
      encryptionKey: config.NUDGE_ENCRYPTION_KEY,
      linkSigningKey: config.NUDGE_LINK_SIGNING_KEY,
      previousLinkSigningKeys: config.NUDGE_LINK_SIGNING_KEY_PREVIOUS,
      dataDir: config.DATA_DIR,
      embedded: config.mode.clickhouse === 'embedded',
    },
    log.warn,
  )
  const cipher = createContactCipher(secrets.encryptionKey)
  const storeOptions = {
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    dataDir: join(config.DATA_DIR, 'clickhouse'),
    settings: config.CLICKHOUSE_CLUSTER ? CLUSTER_QUERY_SETTINGS : undefined,
  }
  const store = await openStore(storeOptions)
  // The database is the client's: a Distributed table names the one its local tables are in.
  const cluster = config.CLICKHOUSE_CLUSTER
    ? { cluster: config.CLICKHOUSE_CLUSTER, database: config.CLICKHOUSE_DATABASE ?? 'default' }
    : undefined
  const applied = await migrate(store.client, loadMigrations(), cluster)
  log.info('store ready', { store: store.describe, migrationsApplied: applied })
  return { secrets, cipher, store, openConnection: () => openStore(storeOptions), cluster }
}

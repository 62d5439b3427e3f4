import type { ClickHouseSettings } from '@clickhouse/client'

/**
 * Query settings every Nudge connection to a cluster sends (CLICKHOUSE_CLUSTER).
 *
 * - `insert_distributed_sync` (today's name: `distributed_foreground_insert`): an INSERT into a
 *   Distributed table returns once the rows are on their shards, not when they are queued on the
 *   node that received them. Ingest acknowledges a batch (and the Kafka consumer commits its
 *   offsets) after the insert returns; with the default background queue, a node lost before it
 *   forwarded the queue would lose rows that were already acknowledged.
 * - `distributed_product_mode = 'global'`: a subquery or join on another Distributed table runs
 *   once and its result is sent to every shard. `local` would be cheaper and is exact for joins
 *   on the user key (every per-user table is sharded by its user), but identities are sharded by
 *   user id while an anonymous visitor's events sit on the anonymous id's shard; a join across
 *   the two would silently miss rows. The default (`deny`) would refuse those queries outright.
 */
export const CLUSTER_QUERY_SETTINGS: ClickHouseSettings = {
  insert_distributed_sync: 1,
  distributed_product_mode: 'global',
}

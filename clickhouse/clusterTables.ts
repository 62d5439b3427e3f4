/**
 * Where each table's rows live when Nudge runs on a ClickHouse cluster (CLICKHOUSE_CLUSTER). The
 * cluster DDL (clusterDdl.ts) reads this table and nothing else, so a new table is one line here,
 * never a new branch in the transform; a test fails for any migration table missing from it.
 *
 * - `sharded`: by a hash of one column. For a per-user table, the column that holds the user, so
 *   one user's facts (events, traits, consent, membership, runs, sends) are on one shard: per-user
 *   reads touch one shard, and a ReplacingMergeTree — which only collapses rows on the same shard —
 *   stays exact, because the user is part of what it collapses on.
 * - `view`: filled only by a materialized view from `of` on the same shard (the view writes
 *   local-to-local), so its rows follow the source's user. Its Distributed table has no sharding
 *   key: a direct INSERT is refused instead of landing on a shard the view would not choose.
 * - `everywhere`: small, not per user, read next to per-user rows on hot paths (definitions,
 *   catalog, suppressions, tombstones): a full copy on every node, so a shard-local query finds
 *   it without a network hop and every node answers a definition read on its own.
 *
 * No table is sharded by a constant: that puts a whole log on one shard (one hot node) and gains
 * nothing over hashing its own id, which also keeps every copy of one id on one shard.
 */
export type Placement = { kind: 'sharded'; by: string } | { kind: 'view'; of: string } | { kind: 'everywhere' }

/** Sharded by the column that holds the user. */
const user = (column = 'user_key'): Placement => ({ kind: 'sharded', by: column })
const everywhere: Placement = { kind: 'everywhere' }

export const TABLE_PLACEMENT: Readonly<Record<string, Placement>> = {
  // The migrations ledger: every node must see which migrations ran.
  nudge_migrations: everywhere,
  events: user(),
  // A message id is one event's, and an event one user's: the view keeps them together.
  message_ids: { kind: 'view', of: 'events' },
  traits: user(),
  contacts: user(),
  // An identified user's key is their user id (ingest/normalize.ts: userId || anonymousId).
  identities: user('user_id'),
  consent: user(),
  // The erasure log: a few rows per erasure, no user (a keyed hash), read by operators on any node.
  erasures: everywhere,
  segments: everywhere,
  segment_membership: user(),
  segment_transitions: user(),
  experiments: everywhere,
  // The unit of an experiment is the user key (ingest/erasure/tablePlan.ts erases it by key).
  experiment_exposures: user('unit'),
  flags: everywhere,
  flag_audit: everywhere,
  journeys: everywhere,
  journey_runs: user(),
  journey_steps: user(),
  send_ledger: user(),
  // The capture mailbox (local SMTP, development and demos): no user column, raw MIME, large;
  // every delivery attempt of one message lands on the same shard.
  mailbox: { kind: 'sharded', by: 'message_id' },
  // One cursor for the whole store: every node reads the same progress.
  journey_router_progress: everywhere,
  products: everywhere,
  templates: everywhere,
  // A code is minted for one message, and a message for one user: duplicates of a code share a shard.
  discount_codes: user(),
  message_events: user(),
  message_bodies: user(),
  // Checked before every send, whichever shard the user is on.
  suppressions: everywhere,
  false_triggers: user(),
  // Checked for every late signal, on whichever node receives it.
  erased_ids: everywhere,
  // Destination definitions and the feeder's cursors: operator configuration, read by every node.
  destinations: everywhere,
  destination_cursors: everywhere,
  // Every version of a record is its user's, so the ReplacingMergeTree collapses them on one shard.
  destination_outbox: user(),
}

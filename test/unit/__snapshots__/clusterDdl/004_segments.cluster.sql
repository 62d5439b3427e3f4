CREATE TABLE IF NOT EXISTS segments ON CLUSTER nudge (
  id String,
  name String,
  description String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS segment_membership_local ON CLUSTER nudge (
  segment_id String,
  user_key String,
  is_member UInt8,
  changed_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', changed_at)
ORDER BY (segment_id, user_key);

CREATE TABLE IF NOT EXISTS segment_membership ON CLUSTER nudge AS segment_membership_local
ENGINE = Distributed('nudge', 'default', 'segment_membership_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS segment_transitions_local ON CLUSTER nudge (
  segment_id String,
  user_key String,
  entered UInt8,
  at DateTime64(3, 'UTC'),
  cause LowCardinality(String),
  trigger_message_id String,
  segment_version UInt32
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (segment_id, at, user_key);

CREATE TABLE IF NOT EXISTS segment_transitions ON CLUSTER nudge AS segment_transitions_local
ENGINE = Distributed('nudge', 'default', 'segment_transitions_local', cityHash64(user_key));

CREATE MATERIALIZED VIEW IF NOT EXISTS segment_transitions_to_membership ON CLUSTER nudge TO segment_membership_local AS
SELECT segment_id, user_key, entered AS is_member, at AS changed_at FROM segment_transitions_local;

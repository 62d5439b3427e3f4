CREATE TABLE IF NOT EXISTS destinations ON CLUSTER nudge (
  id String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS destination_outbox_local ON CLUSTER nudge (
  destination_id String,
  record_id String,
  user_key String,
  seq UInt64,
  at DateTime64(3, 'UTC'),
  kind LowCardinality(String),
  payload String,
  state LowCardinality(String),
  attempts UInt32,
  last_error String,
  enqueued_at DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC'),
  version UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (destination_id, user_key, record_id);

CREATE TABLE IF NOT EXISTS destination_outbox ON CLUSTER nudge AS destination_outbox_local
ENGINE = Distributed('nudge', 'default', 'destination_outbox_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS destination_cursors ON CLUSTER nudge (
  source String,
  position Int64,
  updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', updated_at)
ORDER BY source;

CREATE TABLE IF NOT EXISTS templates ON CLUSTER nudge (
  id String,
  version UInt32,
  definition String,
  created_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY (id, version);

CREATE TABLE IF NOT EXISTS discount_codes_local ON CLUSTER nudge (
  code String,
  message_id String,
  user_key String,
  journey_id LowCardinality(String),
  template LowCardinality(String),
  created_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY code;

CREATE TABLE IF NOT EXISTS discount_codes ON CLUSTER nudge AS discount_codes_local
ENGINE = Distributed('nudge', 'default', 'discount_codes_local', cityHash64(user_key));

ALTER TABLE send_ledger_local ON CLUSTER nudge ADD COLUMN IF NOT EXISTS template_version UInt32 DEFAULT 0;

ALTER TABLE send_ledger ON CLUSTER nudge ADD COLUMN IF NOT EXISTS template_version UInt32 DEFAULT 0;

ALTER TABLE send_ledger_local ON CLUSTER nudge ADD INDEX IF NOT EXISTS idx_message_id message_id TYPE bloom_filter GRANULARITY 1;

CREATE TABLE IF NOT EXISTS message_events_local ON CLUSTER nudge (
  message_id String,
  event LowCardinality(String),
  at DateTime64(3, 'UTC'),
  user_key String,
  journey_id LowCardinality(String),
  step_id String,
  template LowCardinality(String),
  experiment_key String,
  variant String,
  url String,
  machine UInt8,
  machine_reason LowCardinality(String),
  bounce_type LowCardinality(String),
  provider LowCardinality(String),
  user_agent String,
  is_test UInt8
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, event, at, message_id);

CREATE TABLE IF NOT EXISTS message_events ON CLUSTER nudge AS message_events_local
ENGINE = Distributed('nudge', 'default', 'message_events_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS message_bodies_local ON CLUSTER nudge (
  message_id String,
  user_key String,
  html String,
  created_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY message_id
TTL toDateTime(created_at) + INTERVAL 30 DAY;

CREATE TABLE IF NOT EXISTS message_bodies ON CLUSTER nudge AS message_bodies_local
ENGINE = Distributed('nudge', 'default', 'message_bodies_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS suppressions ON CLUSTER nudge (
  lookup_hash String,
  reason LowCardinality(String),
  source LowCardinality(String),
  at DateTime64(3, 'UTC'),
  active UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', at)
ORDER BY lookup_hash;

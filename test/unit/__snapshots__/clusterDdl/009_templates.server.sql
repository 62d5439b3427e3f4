CREATE TABLE IF NOT EXISTS templates (
  id String,
  version UInt32,
  definition String,
  created_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (id, version);

CREATE TABLE IF NOT EXISTS discount_codes (
  code String,
  message_id String,
  user_key String,
  journey_id LowCardinality(String),
  template LowCardinality(String),
  created_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY code;

ALTER TABLE send_ledger ADD COLUMN IF NOT EXISTS template_version UInt32 DEFAULT 0;

ALTER TABLE send_ledger ADD INDEX IF NOT EXISTS idx_message_id message_id TYPE bloom_filter GRANULARITY 1;

CREATE TABLE IF NOT EXISTS message_events (
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
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, event, at, message_id);

CREATE TABLE IF NOT EXISTS message_bodies (
  message_id String,
  user_key String,
  html String,
  created_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY message_id
TTL toDateTime(created_at) + INTERVAL 30 DAY;

CREATE TABLE IF NOT EXISTS suppressions (
  lookup_hash String,
  reason LowCardinality(String),
  source LowCardinality(String),
  at DateTime64(3, 'UTC'),
  active UInt8
) ENGINE = ReplacingMergeTree(at)
ORDER BY lookup_hash;

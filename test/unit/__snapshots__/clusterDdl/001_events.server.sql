CREATE TABLE IF NOT EXISTS events (
  message_id String,
  source LowCardinality(String),
  type LowCardinality(String),
  event LowCardinality(String),
  name String,
  user_id String,
  anonymous_id String,
  user_key String,
  timestamp DateTime64(3, 'UTC'),
  original_timestamp Nullable(DateTime64(3, 'UTC')),
  sent_at Nullable(DateTime64(3, 'UTC')),
  received_at DateTime64(3, 'UTC'),
  properties String,
  traits String,
  context String,
  group_id String,
  previous_id String,
  consent_limited UInt8,
  INDEX idx_anonymous_id anonymous_id TYPE bloom_filter GRANULARITY 4,
  INDEX idx_event event TYPE set(256) GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_key, timestamp, message_id)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS message_ids (
  message_id String,
  received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY message_id
SETTINGS index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_to_message_ids TO message_ids AS
SELECT message_id, received_at FROM events;

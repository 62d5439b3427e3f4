CREATE TABLE IF NOT EXISTS destinations (
  id String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS destination_outbox (
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
) ENGINE = ReplacingMergeTree(version)
ORDER BY (destination_id, user_key, record_id);

CREATE TABLE IF NOT EXISTS destination_cursors (
  source String,
  position Int64,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY source;

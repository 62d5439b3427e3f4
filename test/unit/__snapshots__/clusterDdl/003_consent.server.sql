CREATE TABLE IF NOT EXISTS consent (
  user_key String,
  topic LowCardinality(String),
  granted UInt8,
  changed_at DateTime64(3, 'UTC'),
  source LowCardinality(String),
  message_id String,
  recorded_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (user_key, topic, changed_at, source, message_id);

CREATE TABLE IF NOT EXISTS erasures (
  user_hash String,
  erased_at DateTime64(3, 'UTC'),
  rows_deleted UInt64,
  requested_by String
) ENGINE = MergeTree
ORDER BY erased_at;

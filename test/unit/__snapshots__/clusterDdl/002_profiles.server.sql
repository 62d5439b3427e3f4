CREATE TABLE IF NOT EXISTS traits (
  user_key String,
  key String,
  value String,
  updated_at DateTime64(3, 'UTC'),
  message_id String
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (user_key, key);

CREATE TABLE IF NOT EXISTS contacts (
  user_key String,
  kind LowCardinality(String),
  value_enc String,
  lookup_hash String,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (user_key, kind);

CREATE TABLE IF NOT EXISTS identities (
  user_id String,
  anonymous_id String,
  kind LowCardinality(String),
  linked_at DateTime64(3, 'UTC'),
  message_id String,
  INDEX idx_anonymous_id anonymous_id TYPE bloom_filter GRANULARITY 1
) ENGINE = ReplacingMergeTree(linked_at)
ORDER BY (user_id, anonymous_id);

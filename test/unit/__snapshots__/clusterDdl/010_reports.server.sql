CREATE TABLE IF NOT EXISTS false_triggers (
  at DateTime64(3, 'UTC'),
  journey_id LowCardinality(String),
  user_key String,
  message_id String,
  class LowCardinality(String),
  evidence String
) ENGINE = MergeTree
ORDER BY (journey_id, at);

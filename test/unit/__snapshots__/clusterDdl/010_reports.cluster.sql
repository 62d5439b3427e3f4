CREATE TABLE IF NOT EXISTS false_triggers_local ON CLUSTER nudge (
  at DateTime64(3, 'UTC'),
  journey_id LowCardinality(String),
  user_key String,
  message_id String,
  class LowCardinality(String),
  evidence String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (journey_id, at);

CREATE TABLE IF NOT EXISTS false_triggers ON CLUSTER nudge AS false_triggers_local
ENGINE = Distributed('nudge', 'default', 'false_triggers_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS consent_local ON CLUSTER nudge (
  user_key String,
  topic LowCardinality(String),
  granted UInt8,
  changed_at DateTime64(3, 'UTC'),
  source LowCardinality(String),
  message_id String,
  recorded_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (user_key, topic, changed_at, source, message_id);

CREATE TABLE IF NOT EXISTS consent ON CLUSTER nudge AS consent_local
ENGINE = Distributed('nudge', 'default', 'consent_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS erasures ON CLUSTER nudge (
  user_hash String,
  erased_at DateTime64(3, 'UTC'),
  rows_deleted UInt64,
  requested_by String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY erased_at;

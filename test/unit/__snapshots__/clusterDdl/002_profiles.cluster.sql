CREATE TABLE IF NOT EXISTS traits_local ON CLUSTER nudge (
  user_key String,
  key String,
  value String,
  updated_at DateTime64(3, 'UTC'),
  message_id String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)
ORDER BY (user_key, key);

CREATE TABLE IF NOT EXISTS traits ON CLUSTER nudge AS traits_local
ENGINE = Distributed('nudge', 'default', 'traits_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS contacts_local ON CLUSTER nudge (
  user_key String,
  kind LowCardinality(String),
  value_enc String,
  lookup_hash String,
  updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)
ORDER BY (user_key, kind);

CREATE TABLE IF NOT EXISTS contacts ON CLUSTER nudge AS contacts_local
ENGINE = Distributed('nudge', 'default', 'contacts_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS identities_local ON CLUSTER nudge (
  user_id String,
  anonymous_id String,
  kind LowCardinality(String),
  linked_at DateTime64(3, 'UTC'),
  message_id String,
  INDEX idx_anonymous_id anonymous_id TYPE bloom_filter GRANULARITY 1
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', linked_at)
ORDER BY (user_id, anonymous_id);

CREATE TABLE IF NOT EXISTS identities ON CLUSTER nudge AS identities_local
ENGINE = Distributed('nudge', 'default', 'identities_local', cityHash64(user_id));

CREATE TABLE IF NOT EXISTS erased_ids ON CLUSTER nudge (
  id_hash String,
  kind LowCardinality(String),
  erased_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', erased_at)
ORDER BY (kind, id_hash);

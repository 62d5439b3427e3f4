CREATE TABLE IF NOT EXISTS products ON CLUSTER nudge (
  product_id String,
  name String,
  category LowCardinality(String),
  price Float64,
  currency LowCardinality(String),
  image_url String,
  url String,
  attributes String,
  in_stock UInt8,
  updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', updated_at)
ORDER BY product_id;

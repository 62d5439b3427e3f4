-- The product catalog as the catalog API last wrote it: every upsert is a new row and the newest
-- (updated_at) wins, on merge and under FINAL. Products only seen in events are not copied here:
-- they are derived from event properties when read, so an API write always wins over them.
-- Small (thousands to a few hundred thousand rows): recommendations hold it all in memory.
CREATE TABLE IF NOT EXISTS products (
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
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY product_id;

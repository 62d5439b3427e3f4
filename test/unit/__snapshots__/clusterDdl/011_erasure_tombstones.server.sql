CREATE TABLE IF NOT EXISTS erased_ids (
  id_hash String,
  kind LowCardinality(String),
  erased_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(erased_at)
ORDER BY (kind, id_hash);

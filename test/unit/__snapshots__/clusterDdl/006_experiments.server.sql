CREATE TABLE IF NOT EXISTS experiments (
  key String,
  definition String,
  status LowCardinality(String),
  rolled_out String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  started_at Nullable(DateTime64(3, 'UTC')),
  stopped_at Nullable(DateTime64(3, 'UTC')),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY key;

CREATE TABLE IF NOT EXISTS experiment_exposures (
  experiment_key String,
  unit String,
  variant String,
  first_at DateTime64(3, 'UTC'),
  context String,
  rank UInt64
) ENGINE = ReplacingMergeTree(rank)
ORDER BY (experiment_key, unit);

CREATE TABLE IF NOT EXISTS flags (
  key String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY key;

CREATE TABLE IF NOT EXISTS flag_audit (
  flag_key String,
  at DateTime64(3, 'UTC'),
  actor String,
  action LowCardinality(String),
  before String,
  after String
) ENGINE = MergeTree
ORDER BY (flag_key, at);

CREATE TABLE IF NOT EXISTS experiments ON CLUSTER nudge (
  key String,
  definition String,
  status LowCardinality(String),
  rolled_out String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  started_at Nullable(DateTime64(3, 'UTC')),
  stopped_at Nullable(DateTime64(3, 'UTC')),
  deleted UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', version)
ORDER BY key;

CREATE TABLE IF NOT EXISTS experiment_exposures_local ON CLUSTER nudge (
  experiment_key String,
  unit String,
  variant String,
  first_at DateTime64(3, 'UTC'),
  context String,
  rank UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', rank)
ORDER BY (experiment_key, unit);

CREATE TABLE IF NOT EXISTS experiment_exposures ON CLUSTER nudge AS experiment_exposures_local
ENGINE = Distributed('nudge', 'default', 'experiment_exposures_local', cityHash64(unit));

CREATE TABLE IF NOT EXISTS flags ON CLUSTER nudge (
  key String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}', version)
ORDER BY key;

CREATE TABLE IF NOT EXISTS flag_audit ON CLUSTER nudge (
  flag_key String,
  at DateTime64(3, 'UTC'),
  actor String,
  action LowCardinality(String),
  before String,
  after String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY (flag_key, at);

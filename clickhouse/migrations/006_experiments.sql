-- Experiment definitions and their lifecycle, versioned: every change is a new row; the highest
-- version is current.
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

-- First exposure of a unit to an experiment. A repeat (after a restart, from another process)
-- collapses into one row on merge, and the earliest wins: `rank` falls as time grows.
CREATE TABLE IF NOT EXISTS experiment_exposures (
  experiment_key String,
  unit String,
  variant String,
  first_at DateTime64(3, 'UTC'),
  context String,
  rank UInt64
) ENGINE = ReplacingMergeTree(rank)
ORDER BY (experiment_key, unit);

-- Feature flags, versioned like experiments.
CREATE TABLE IF NOT EXISTS flags (
  key String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY key;

-- Who changed a flag, when, from what to what.
CREATE TABLE IF NOT EXISTS flag_audit (
  flag_key String,
  at DateTime64(3, 'UTC'),
  actor String,
  action LowCardinality(String),
  before String,
  after String
) ENGINE = MergeTree
ORDER BY (flag_key, at);

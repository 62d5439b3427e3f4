CREATE TABLE IF NOT EXISTS segments (
  id String,
  name String,
  description String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS segment_membership (
  segment_id String,
  user_key String,
  is_member UInt8,
  changed_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(changed_at)
ORDER BY (segment_id, user_key);

CREATE TABLE IF NOT EXISTS segment_transitions (
  segment_id String,
  user_key String,
  entered UInt8,
  at DateTime64(3, 'UTC'),
  cause LowCardinality(String),
  trigger_message_id String,
  segment_version UInt32
) ENGINE = MergeTree
ORDER BY (segment_id, at, user_key);

CREATE MATERIALIZED VIEW IF NOT EXISTS segment_transitions_to_membership TO segment_membership AS
SELECT segment_id, user_key, entered AS is_member, at AS changed_at FROM segment_transitions;

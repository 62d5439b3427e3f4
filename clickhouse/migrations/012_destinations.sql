-- Destination definitions, versioned like flags: every change is a new row; the highest version is
-- current. `definition` holds the secrets sealed (AES-256-GCM with the encryption key), never in clear.
CREATE TABLE IF NOT EXISTS destinations (
  id String,
  definition String,
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- The outbox: one row per (destination, record), its latest state winning (`version` grows with
-- every change). `pending` rows are delivered in `seq` order per user; `dead` rows are the
-- dead-letter list (replayed by setting them pending again); `delivered` and `withheld` (consent)
-- are kept for the report and to enqueue a record once.
CREATE TABLE IF NOT EXISTS destination_outbox (
  destination_id String,
  record_id String,
  user_key String,
  seq UInt64,
  at DateTime64(3, 'UTC'),
  kind LowCardinality(String),
  payload String,
  state LowCardinality(String),
  attempts UInt32,
  last_error String,
  enqueued_at DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (destination_id, user_key, record_id);

-- How far the feeder has read each source table (segment_transitions, message_events, send_ledger, events).
CREATE TABLE IF NOT EXISTS destination_cursors (
  source String,
  position Int64,
  updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY source;

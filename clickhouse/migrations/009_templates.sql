-- Email templates, versioned: every save is a new row and the highest version is current. A send
-- records the version it rendered (send_ledger.template_version), so old versions stay readable.
CREATE TABLE IF NOT EXISTS templates (
  id String,
  version UInt32,
  definition String,
  created_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY (id, version);

-- Single-use discount codes, one per message that showed one: who got which code, from where.
CREATE TABLE IF NOT EXISTS discount_codes (
  code String,
  message_id String,
  user_key String,
  journey_id LowCardinality(String),
  template LowCardinality(String),
  created_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY code;

ALTER TABLE send_ledger ADD COLUMN IF NOT EXISTS template_version UInt32 DEFAULT 0;

-- Tracking looks a message up by id alone.
ALTER TABLE send_ledger ADD INDEX IF NOT EXISTS idx_message_id message_id TYPE bloom_filter GRANULARITY 1;

-- Every outcome of every message, tied to its journey, step, experiment and variant: delivered,
-- open, click, unsubscribe, bounce, complaint. Machine opens and scanner clicks are kept and
-- flagged (machine = 1, with the reason), so metrics can leave them out.
CREATE TABLE IF NOT EXISTS message_events (
  message_id String,
  event LowCardinality(String),
  at DateTime64(3, 'UTC'),
  user_key String,
  journey_id LowCardinality(String),
  step_id String,
  template LowCardinality(String),
  experiment_key String,
  variant String,
  url String,
  machine UInt8,
  machine_reason LowCardinality(String),
  bounce_type LowCardinality(String),
  provider LowCardinality(String),
  user_agent String,
  is_test UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, event, at, message_id);

-- The rendered HTML of each message for "view in browser", kept 30 days.
CREATE TABLE IF NOT EXISTS message_bodies (
  message_id String,
  user_key String,
  html String,
  created_at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY message_id
TTL toDateTime(created_at) + INTERVAL 30 DAY;

-- Addresses that must not be mailed: hard bounces, complaints, repeated soft bounces, or added by
-- hand. Keyed by the contact's lookup hash (an HMAC; the address itself is not stored here).
CREATE TABLE IF NOT EXISTS suppressions (
  lookup_hash String,
  reason LowCardinality(String),
  source LowCardinality(String),
  at DateTime64(3, 'UTC'),
  active UInt8
) ENGINE = ReplacingMergeTree(at)
ORDER BY lookup_hash;

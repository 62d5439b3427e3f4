CREATE TABLE IF NOT EXISTS journeys (
  id String,
  definition String,
  status LowCardinality(String),
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
) ENGINE = MergeTree
ORDER BY (id, version);

CREATE TABLE IF NOT EXISTS journey_runs (
  workflow_id String,
  journey_id LowCardinality(String),
  journey_version UInt32,
  user_key String,
  correlation String,
  phase LowCardinality(String),
  outcome LowCardinality(String),
  trigger_message_id String,
  trigger_event String,
  trigger_at DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  at DateTime64(3, 'UTC'),
  is_test UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, at, workflow_id);

CREATE TABLE IF NOT EXISTS journey_steps (
  workflow_id String,
  journey_id LowCardinality(String),
  journey_version UInt32,
  user_key String,
  step_id String,
  step_type LowCardinality(String),
  outcome LowCardinality(String),
  reason String,
  scheduled_at Nullable(DateTime64(3, 'UTC')),
  at DateTime64(3, 'UTC'),
  experiment_key String,
  variant String,
  flags String,
  message_id String,
  is_test UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, at, workflow_id);

CREATE TABLE IF NOT EXISTS send_ledger (
  message_id String,
  status LowCardinality(String),
  at DateTime64(3, 'UTC'),
  workflow_id String,
  journey_id LowCardinality(String),
  step_id String,
  user_key String,
  recipient_hash String,
  template String,
  subject String,
  topic LowCardinality(String),
  priority UInt8,
  experiment_key String,
  variant String,
  scheduled_at DateTime64(3, 'UTC'),
  is_test UInt8
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (user_key, message_id, at)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS mailbox (
  message_id String,
  received_at DateTime64(3, 'UTC'),
  mail_from String,
  rcpt_to Array(String),
  subject String,
  raw String
) ENGINE = MergeTree
ORDER BY (received_at, message_id);

CREATE TABLE IF NOT EXISTS journey_router_progress (
  seq UInt64,
  at DateTime64(3, 'UTC')
) ENGINE = MergeTree
ORDER BY seq;

CREATE TABLE IF NOT EXISTS journeys ON CLUSTER nudge (
  id String,
  definition String,
  status LowCardinality(String),
  version UInt32,
  updated_at DateTime64(3, 'UTC'),
  deleted UInt8
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY (id, version);

CREATE TABLE IF NOT EXISTS journey_runs_local ON CLUSTER nudge (
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
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, at, workflow_id);

CREATE TABLE IF NOT EXISTS journey_runs ON CLUSTER nudge AS journey_runs_local
ENGINE = Distributed('nudge', 'default', 'journey_runs_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS journey_steps_local ON CLUSTER nudge (
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
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (journey_id, at, workflow_id);

CREATE TABLE IF NOT EXISTS journey_steps ON CLUSTER nudge AS journey_steps_local
ENGINE = Distributed('nudge', 'default', 'journey_steps_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS send_ledger_local ON CLUSTER nudge (
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
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (user_key, message_id, at)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS send_ledger ON CLUSTER nudge AS send_ledger_local
ENGINE = Distributed('nudge', 'default', 'send_ledger_local', cityHash64(user_key));

CREATE TABLE IF NOT EXISTS mailbox_local ON CLUSTER nudge (
  message_id String,
  received_at DateTime64(3, 'UTC'),
  mail_from String,
  rcpt_to Array(String),
  subject String,
  raw String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (received_at, message_id);

CREATE TABLE IF NOT EXISTS mailbox ON CLUSTER nudge AS mailbox_local
ENGINE = Distributed('nudge', 'default', 'mailbox_local', cityHash64(message_id));

CREATE TABLE IF NOT EXISTS journey_router_progress ON CLUSTER nudge (
  seq UInt64,
  at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY seq;

-- Journey runs that should not have started, one row per finding: which run (journey, user, the
-- triggering message), what kind of mistake (`class`) and the facts that show it (`evidence`, JSON).
-- The false-trigger report writes it; the Grafana "False triggers" dashboard and alert read it.
CREATE TABLE IF NOT EXISTS false_triggers (
  at DateTime64(3, 'UTC'),
  journey_id LowCardinality(String),
  user_key String,
  message_id String,
  class LowCardinality(String),
  evidence String
) ENGINE = MergeTree
ORDER BY (journey_id, at);

-- One insert for a write batch's profile rows (identities, traits, contacts, consent) instead of one
-- per table: each insert statement has a fixed cost on the engine (~10–15 ms however small), and the
-- writer stores one batch at a time. The batch's rows go into this table, which keeps nothing (Null
-- engine); the views below copy each kind of row into its own table, column for column, so every
-- table holds exactly what a direct insert would have stored.
--
-- Event rows are NOT routed through here: they go in a second insert, after this one succeeded.
-- The event insert also records the message ids (events_to_message_ids), and a retry of a batch is
-- recognised by those ids; views of one insert are not all-or-nothing, so were the events a view
-- of this insert, a failed profile view could leave the events stored and the retry would drop them
-- with their profile rows unwritten.
CREATE TABLE IF NOT EXISTS ingest_side_rows (
  row_kind LowCardinality(String),
  user_key String,
  key String,
  value String,
  updated_at DateTime64(3, 'UTC'),
  message_id String,
  ingest_seq UInt64,
  kind LowCardinality(String),
  value_enc String,
  lookup_hash String,
  user_id String,
  anonymous_id String,
  linked_at DateTime64(3, 'UTC'),
  topic LowCardinality(String),
  granted UInt8,
  changed_at DateTime64(3, 'UTC'),
  source LowCardinality(String),
  recorded_at DateTime64(3, 'UTC')
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_side_rows_to_identities TO identities AS
SELECT user_id, anonymous_id, kind, linked_at, message_id, ingest_seq FROM ingest_side_rows WHERE row_kind = 'identity';

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_side_rows_to_traits TO traits AS
SELECT user_key, key, value, updated_at, message_id, ingest_seq FROM ingest_side_rows WHERE row_kind = 'trait';

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_side_rows_to_contacts TO contacts AS
SELECT user_key, kind, value_enc, lookup_hash, updated_at FROM ingest_side_rows WHERE row_kind = 'contact';

CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_side_rows_to_consent TO consent AS
SELECT user_key, topic, granted, changed_at, source, message_id, recorded_at, ingest_seq FROM ingest_side_rows WHERE row_kind = 'consent';

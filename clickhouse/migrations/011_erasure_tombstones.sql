-- Tombstones of erased people: a keyed hash (HMAC) of every id an erasure removed — the user id,
-- its linked anonymous ids (kind `user`) and the ids of the mail sent to them (kind `message`) —
-- never the id itself. Late signals (an old pixel, click or one-click unsubscribe, a bounce, a
-- retried event) are checked against it and dropped, so nothing brings the person back.
CREATE TABLE IF NOT EXISTS erased_ids (
  id_hash String,
  kind LowCardinality(String),
  erased_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(erased_at)
ORDER BY (kind, id_hash);

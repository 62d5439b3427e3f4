-- Which write batch stored a row: a number that only grows, one per batch, in the order batches
-- were stored. A reader that loads "everything up to batch N" and then follows the batches after
-- N (live segment facts) neither misses nor double-counts a row, without stopping ingest.
ALTER TABLE events ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0;
ALTER TABLE traits ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0;
ALTER TABLE consent ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0;
ALTER TABLE identities ADD COLUMN IF NOT EXISTS ingest_seq UInt64 DEFAULT 0;

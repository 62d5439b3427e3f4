CREATE TABLE IF NOT EXISTS nudge_migrations ON CLUSTER nudge (version UInt32, name String, applied_at DateTime64(3, 'UTC'))
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')
ORDER BY version;

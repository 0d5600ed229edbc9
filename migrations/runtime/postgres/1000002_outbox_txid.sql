-- Writers append to the outbox concurrently, so `seq` (handed out at insert) need not
-- follow commit order. Each row records the id of the transaction that wrote it, and the
-- relay delivers in (txid, seq) order only rows whose transaction is older than every
-- transaction still running (docs/events.md, "Order on PostgreSQL").
--
-- Rows written before this column existed were committed in `seq` order under a lock:
-- they take txid 0, before every real transaction id, so each cursor, now the pair
-- (last_txid, last_seq) starting at (0, last_seq), goes on exactly where it was.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS txid BIGINT NOT NULL DEFAULT 0;
-- An xid8 is 64 bits and never wraps; as text it reads as a bigint.
ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint;
ALTER TABLE outbox_cursor ADD COLUMN IF NOT EXISTS last_txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS outbox_txid_seq ON outbox (txid, seq);

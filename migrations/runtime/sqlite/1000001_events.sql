-- The runtime's tables, in the database of every module, beside the module's own. Their
-- versions start at 1000001 so that they never meet a module's. A module whose first
-- migrations made them (orders, payments) already has them: then these change nothing.

-- Events the module publishes, written in the transaction that causes them.
CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           BLOB NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    request_id   TEXT,
    payload      TEXT NOT NULL,
    -- The W3C trace context of the span that caused the event.
    traceparent  TEXT
);
-- How far each subscriber has applied the outbox.
CREATE TABLE IF NOT EXISTS outbox_cursor (
    subscriber  TEXT PRIMARY KEY NOT NULL,
    last_seq    INTEGER NOT NULL
);
-- Events the module has applied, so a redelivery changes nothing.
CREATE TABLE IF NOT EXISTS inbox (
    event_id      BLOB PRIMARY KEY NOT NULL,
    processed_at  TEXT NOT NULL
);

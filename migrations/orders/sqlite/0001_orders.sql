CREATE TABLE orders (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL,
    currency     TEXT NOT NULL,
    -- The items are a value of the order, read and written with it: one JSON column keeps
    -- placing an order to a single row.
    items        TEXT NOT NULL,
    total_cents  INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'payment_failed')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, id);

CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY NOT NULL,
    request_hash  TEXT NOT NULL,
    order_id      BLOB NOT NULL REFERENCES orders (id)
);

-- Events this module publishes, written in the transaction that causes them.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           BLOB NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    request_id   TEXT,
    payload      TEXT NOT NULL
);
-- How far each subscriber has applied the outbox.
CREATE TABLE outbox_cursor (
    subscriber  TEXT PRIMARY KEY NOT NULL,
    last_seq    INTEGER NOT NULL
);
-- Events this module has applied, so a redelivery changes nothing.
CREATE TABLE inbox (
    event_id      BLOB PRIMARY KEY NOT NULL,
    processed_at  TEXT NOT NULL
);

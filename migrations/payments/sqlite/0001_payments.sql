CREATE TABLE payments (
    id            BLOB PRIMARY KEY NOT NULL,
    -- One payment per order, ever: a redelivered OrderPlaced can never charge twice.
    order_id      BLOB NOT NULL UNIQUE,
    amount_cents  INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('authorized', 'declined')),
    created_at    TEXT NOT NULL
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

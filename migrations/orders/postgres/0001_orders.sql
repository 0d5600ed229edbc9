CREATE TABLE orders (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL,
    currency     TEXT NOT NULL,
    -- The items are a value of the order, read and written with it: one JSON column keeps
    -- placing an order to a single row.
    items        TEXT NOT NULL,
    total_cents  BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'payment_failed')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, id);

CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    request_hash  TEXT NOT NULL,
    order_id      UUID NOT NULL REFERENCES orders (id)
);

-- Events this module publishes, written in the transaction that causes them.
CREATE TABLE outbox (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           UUID NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    request_id   TEXT,
    payload      TEXT NOT NULL
);
-- How far each subscriber has applied the outbox. The relay that holds a subscriber's row
-- locked is the one delivering to it.
CREATE TABLE outbox_cursor (
    subscriber  TEXT PRIMARY KEY,
    last_seq    BIGINT NOT NULL
);
-- Events this module has applied, so a redelivery changes nothing.
CREATE TABLE inbox (
    event_id      UUID PRIMARY KEY,
    processed_at  TIMESTAMPTZ NOT NULL
);

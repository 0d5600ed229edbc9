CREATE TABLE payments (
    id            UUID PRIMARY KEY,
    -- One payment per order, ever: a redelivered OrderPlaced can never charge twice.
    order_id      UUID NOT NULL UNIQUE,
    amount_cents  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('authorized', 'declined')),
    created_at    TIMESTAMPTZ NOT NULL
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

-- The runtime's tables, in the schema of every module, beside the module's own. Their
-- versions start at 1000001 so that they never meet a module's. A module whose first
-- migrations made them (orders, payments) already has them: then these change nothing.

-- Events the module publishes, written in the transaction that causes them.
CREATE TABLE IF NOT EXISTS outbox (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           UUID NOT NULL UNIQUE,
    topic        TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    request_id   TEXT,
    payload      TEXT NOT NULL,
    -- The W3C trace context of the span that caused the event.
    traceparent  TEXT
);
-- How far each subscriber has applied the outbox. The relay that holds a subscriber's row
-- locked is the one delivering to it.
CREATE TABLE IF NOT EXISTS outbox_cursor (
    subscriber  TEXT PRIMARY KEY,
    last_seq    BIGINT NOT NULL
);
-- Events the module has applied, so a redelivery changes nothing.
CREATE TABLE IF NOT EXISTS inbox (
    event_id      UUID PRIMARY KEY,
    processed_at  TIMESTAMPTZ NOT NULL
);

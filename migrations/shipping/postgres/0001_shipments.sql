CREATE TABLE shipments (
    id          UUID PRIMARY KEY,
    -- One shipment per order, ever: a redelivered PaymentAuthorized ships nothing twice.
    order_id    UUID NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE shipments (
    id          BLOB PRIMARY KEY NOT NULL,
    -- One shipment per order, ever: a redelivered PaymentAuthorized ships nothing twice.
    order_id    BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

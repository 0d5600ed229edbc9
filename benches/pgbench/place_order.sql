-- One order as cleave's all-in-one writes it on PostgreSQL, as one pgbench transaction:
-- the buyer check, then the four transactions of the order's life, each with the same
-- statements as cleave's (orders places it with its OrderPlaced; payments applies that,
-- charges once and publishes the outcome; orders applies the outcome; shipping ships it). Outbox rows take
-- their transaction id from the column's default, as cleave's do, and no lock is taken.
-- Run with -M prepared (sqlx prepares every statement) and -D user_id=<an existing user>.
SELECT id, email, name, created_at FROM users.users WHERE id = :user_id;
BEGIN;
INSERT INTO orders.orders (id, user_id, currency, items, total_cents, status, created_at, updated_at)
    VALUES (gen_random_uuid(), :user_id, 'EUR',
            '[{"sku":"BOOK-1","quantity":2,"unit_price_cents":1999}]', 3998, 'pending', now(), now())
    RETURNING id AS order_id \gset
INSERT INTO orders.outbox (id, topic, occurred_at, request_id, traceparent, payload)
    VALUES (gen_random_uuid(), 'orders.order_placed', now(), NULL, NULL,
            json_build_object('order_id', :order_id::uuid, 'user_id', :user_id::uuid,
                              'amount_cents', 3998, 'currency', 'EUR')::text)
    RETURNING id AS placed_id \gset
COMMIT;
BEGIN;
INSERT INTO payments.inbox (event_id, processed_at) VALUES (:placed_id, now()) ON CONFLICT DO NOTHING;
INSERT INTO payments.payments (id, order_id, amount_cents, currency, status, created_at)
    VALUES (gen_random_uuid(), :order_id, 3998, 'EUR', 'authorized', now())
    ON CONFLICT (order_id) DO NOTHING
    RETURNING id AS payment_id \gset
INSERT INTO payments.outbox (id, topic, occurred_at, request_id, traceparent, payload)
    VALUES (gen_random_uuid(), 'payments.payment_authorized', now(), NULL, NULL,
            json_build_object('payment_id', :payment_id::uuid, 'order_id', :order_id::uuid)::text)
    RETURNING id AS outcome_id \gset
COMMIT;
BEGIN;
INSERT INTO orders.inbox (event_id, processed_at) VALUES (:outcome_id, now()) ON CONFLICT DO NOTHING;
UPDATE orders.orders SET status = 'paid', updated_at = now() WHERE id = :order_id AND status = 'pending';
COMMIT;
BEGIN;
INSERT INTO shipping.inbox (event_id, processed_at) VALUES (:outcome_id, now()) ON CONFLICT DO NOTHING;
INSERT INTO shipping.shipments (id, order_id, created_at) VALUES (gen_random_uuid(), :order_id, now())
    ON CONFLICT (order_id) DO NOTHING;
COMMIT;

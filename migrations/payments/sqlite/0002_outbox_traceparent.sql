-- The W3C trace context of the span that caused each event, so its consumer handles it in
-- the same trace. Rows written before this column existed read back as NULL: no context.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;

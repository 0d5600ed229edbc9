-- A consuming module's place in each Kafka topic it reads: the offset of the next record
-- to apply, written after the inbox transaction that applied the records before it
-- (docs/events.md, "Kafka"). The client cleave uses speaks no consumer-group protocol,
-- so the place is kept here, beside the inbox, rather than in the broker.
CREATE TABLE IF NOT EXISTS broker_offsets (
    topic        TEXT PRIMARY KEY NOT NULL,
    next_offset  BIGINT NOT NULL
);

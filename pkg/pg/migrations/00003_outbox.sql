-- +goose Up
-- The outbox, replacing watermill-sql's queue table: rows are relayed in
-- id order within a bucket (a hash of the partition key written by the
-- writer, bus.KeyHash, so one partner's events stay in one bucket), and
-- several relays work at once on different buckets (each takes a
-- transaction-scoped advisory lock per bucket).
-- Within one partition key, id order is commit order: the writer takes the
-- partition's event_sequence row lock before it inserts.
CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    partition_key TEXT NOT NULL,
    bucket        SMALLINT NOT NULL,
    sequence      BIGINT,
    subject       TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    headers       JSON NOT NULL,
    payload       BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_bucket ON outbox (bucket, id);

-- Rows the old relay had not published yet move over in their order, in
-- bucket -1, which relays publish before any other; their headers already
-- carry ce-sequence (the sequence column stays NULL).
INSERT INTO outbox (partition_key, bucket, subject, event_id, headers, payload, created_at)
SELECT coalesce(payload::jsonb -> 'metadata' ->> 'ce-partitionkey', payload::jsonb -> 'metadata' ->> 'ce-subject', ''),
       -1,
       payload::jsonb ->> 'destination_topic',
       payload::jsonb ->> 'uuid',
       (payload::jsonb -> 'metadata')::json,
       decode(payload::jsonb ->> 'payload', 'base64'),
       created_at
FROM watermill_outbox
WHERE NOT acked
ORDER BY "offset";

DROP TABLE watermill_outbox;

-- +goose Down
CREATE TABLE watermill_outbox (
    "offset"     BIGSERIAL PRIMARY KEY,
    "uuid"       VARCHAR(36) NOT NULL,
    "payload"    JSON DEFAULT NULL,
    "metadata"   JSON DEFAULT NULL,
    "acked"      BOOLEAN NOT NULL DEFAULT FALSE,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
DROP TABLE outbox;

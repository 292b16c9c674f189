-- +goose Up
-- The transactional outbox, in watermill-sql's queue layout (delete on ack):
-- the forwarder relays each row to JetStream and deletes it.
CREATE TABLE watermill_outbox (
    "offset"     BIGSERIAL PRIMARY KEY,
    "uuid"       VARCHAR(36) NOT NULL,
    "payload"    JSON DEFAULT NULL,
    "metadata"   JSON DEFAULT NULL,
    "acked"      BOOLEAN NOT NULL DEFAULT FALSE,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The inbox: one row per (handler, source, event id) processed, written in
-- the same transaction as the handler's effects.
CREATE TABLE inbox (
    handler      TEXT NOT NULL,
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, source, event_id)
);

-- Per-partition (partner) gap-free event sequence of this producer.
CREATE TABLE event_sequence (
    partition_key TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);

-- Durable timers: a row per pending deadline; a poller fires each once.
CREATE TABLE timers (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    due_at     TIMESTAMPTZ NOT NULL,
    payload    JSONB NOT NULL DEFAULT '{}',
    fired_at   TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

-- +goose Down
DROP TABLE timers;
DROP TABLE event_sequence;
DROP TABLE inbox;
DROP TABLE watermill_outbox;

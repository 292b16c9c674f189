-- +goose Up
-- One row per requested mail (id = challenge id). next_attempt_at is the
-- durable retry timer; the sealed secret is dropped once the delivery is
-- finished, so it rests here only while it may still be sent.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    partner_id      TEXT NOT NULL,
    enrollment_id   TEXT NOT NULL,
    program         TEXT NOT NULL,
    template_id     TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    contact_name    TEXT NOT NULL,
    language        TEXT NOT NULL,
    market          TEXT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    sealed_secret   BYTEA,
    causation_id    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    next_attempt_at TIMESTAMPTZ NOT NULL,
    fail_reason     TEXT NOT NULL DEFAULT '',
    version         INT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Every attempt, with its outcome (unknown: the lease ran out unrecorded).
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      INT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    outcome     TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);

-- +goose Down
DROP TABLE delivery_attempts;
DROP TABLE deliveries;

-- +goose Up
-- A partner is stored as its aggregate snapshot plus the columns queries and
-- constraints need.
CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    market     TEXT NOT NULL,
    status     TEXT NOT NULL,
    legal_name TEXT NOT NULL,
    snapshot   JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    country    TEXT NOT NULL,
    status     TEXT NOT NULL
);
CREATE INDEX locations_partner ON locations (partner_id);

CREATE TABLE enrollments (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners (id),
    program     TEXT NOT NULL,
    status      TEXT NOT NULL,
    location_id TEXT,
    UNIQUE (partner_id, program)
);

-- The normalized legal identity: a second registration of the same entity
-- in the same market collides here, whatever its spelling.
CREATE TABLE identity_keys (
    market     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    PRIMARY KEY (market, kind, value)
);
CREATE INDEX identity_keys_partner ON identity_keys (partner_id);

CREATE TABLE duplicate_attempts (
    id          TEXT PRIMARY KEY,
    existing_id TEXT NOT NULL,
    data        JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- HTTP Idempotency-Key: the first response per (caller, key), replayed for
-- the same body; kept at least 24 hours.
CREATE TABLE idempotency_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INT,
    headers      JSONB,
    body         BYTEA,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- What the e-mail ownership service confirmed, per enrollment, so that the
-- registration's status shows it.
CREATE TABLE email_confirmations (
    enrollment_id TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL,
    address       TEXT NOT NULL,
    confirmed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_confirmations_partner ON email_confirmations (partner_id);

-- +goose Down
DROP TABLE email_confirmations;
DROP TABLE idempotency_keys;
DROP TABLE duplicate_attempts;
DROP TABLE identity_keys;
DROP TABLE enrollments;
DROP TABLE locations;
DROP TABLE partners;

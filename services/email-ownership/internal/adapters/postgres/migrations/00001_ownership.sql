-- +goose Up
-- One row per enrollment: the Ownership aggregate as a JSONB document plus
-- the columns the queries need. next_deadline is the durable expiry timer:
-- the deadline of the pending challenge (NULL when nothing is pending).
CREATE TABLE ownerships (
    enrollment_id TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL,
    program       TEXT NOT NULL,
    address       TEXT NOT NULL, -- normalized recipient of the latest challenge
    next_deadline TIMESTAMPTZ,
    snapshot      JSONB NOT NULL,
    version       INT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ownerships_address ON ownerships (address);
CREATE INDEX ownerships_next_deadline ON ownerships (next_deadline) WHERE next_deadline IS NOT NULL;

-- Token index: SHA-256 of every link token ever issued (never the token).
CREATE TABLE challenge_tokens (
    token_hash    BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    challenge_id  TEXT NOT NULL UNIQUE,
    enrollment_id TEXT NOT NULL REFERENCES ownerships (enrollment_id) ON DELETE CASCADE
);
CREATE INDEX challenge_tokens_enrollment ON challenge_tokens (enrollment_id);

-- Resend throttles by key (enrollment id, or keyed hash of an address):
-- the accepted resends inside the rolling quota window.
CREATE TABLE resend_throttles (
    key        TEXT PRIMARY KEY,
    sends      TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE resend_throttles;
DROP TABLE challenge_tokens;
DROP TABLE ownerships;

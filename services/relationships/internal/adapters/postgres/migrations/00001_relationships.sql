-- +goose Up
-- The partner projection, fed by registration events. The document is the
-- domain.Partner; version counts real changes (replays leave it alone).
CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    doc        JSONB NOT NULL,
    version    BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Location IDs resolve to their partner (requests are addressed to one).
CREATE TABLE partner_locations (
    location_id TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners (id)
);
CREATE INDEX partner_locations_partner ON partner_locations (partner_id);

-- The Relationship aggregate as a document plus the columns that are
-- queried or constrained.
CREATE TABLE relationships (
    id          TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    reseller_id TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('proposed', 'active', 'ended', 'declined', 'lapsed')),
    created_at  TIMESTAMPTZ NOT NULL,
    -- When the next timer (reminder, expiry, grant expiring/expired) is due;
    -- NULL when nothing is scheduled. The poller reads it.
    next_due_at TIMESTAMPTZ,
    doc         JSONB NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- At most one open relationship per provider/reseller pair.
CREATE UNIQUE INDEX relationships_one_open ON relationships (provider_id, reseller_id)
    WHERE state IN ('proposed', 'active');
CREATE INDEX relationships_provider ON relationships (provider_id, created_at DESC);
CREATE INDEX relationships_reseller ON relationships (reseller_id, created_at DESC);
CREATE INDEX relationships_due ON relationships (next_due_at) WHERE next_due_at IS NOT NULL;

-- SHA-256 (hex) of every invitation token ever issued → its relationship.
-- Clear tokens are never stored.
CREATE TABLE invitation_tokens (
    token_hash      TEXT PRIMARY KEY,
    relationship_id TEXT NOT NULL REFERENCES relationships (id),
    request_id      TEXT NOT NULL
);

-- +goose Down
DROP TABLE invitation_tokens;
DROP TABLE relationships;
DROP TABLE partner_locations;
DROP TABLE partners;

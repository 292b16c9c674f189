-- +goose Up
-- Webhook endpoints: where the timeline sends the events a consumer may
-- see, signed per Standard Webhooks.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    -- The principal (token subject) it delivers for, and what it is sent:
    -- 'all' events, or those about the partners the consumer 'registered'
    -- and those it caused.
    consumer        TEXT NOT NULL,
    scope           TEXT NOT NULL CHECK (scope IN ('all', 'registered')),
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- Full type prefixes; empty: every type.
    event_types     TEXT[] NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     TIMESTAMPTZ,
    -- The first failed attempt since the last success (NULL: healthy).
    failing_since   TIMESTAMPTZ,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_consumer ON webhook_endpoints (consumer, created_at);
-- Recording an event looks the enabled endpoints up.
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (scope, consumer) WHERE status = 'enabled';

-- Signing secrets, encrypted at rest (AES-256-GCM under WEBHOOK_SECRET_KEY,
-- bound to the endpoint and secret ids): the HMAC key must be usable, so it
-- cannot be hashed; its clear text leaves only once, in the answer that
-- created it. During a rotation the previous secret signs too until it
-- expires.
CREATE TABLE webhook_secrets (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    PRIMARY KEY (endpoint_id, id)
);

-- One row per (endpoint, event): the delivery and its log. A pending
-- delivery is due at next_attempt_at; whoever sends it first moves that on
-- by a lease (the recording transaction claims it for the replica that
-- recorded the event), so a replica that dies mid-send leaves it to
-- another after the lease.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_source     TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    first_attempt_at TIMESTAMPTZ,
    -- A redelivery asked for by hand: one attempt, no retries, no effect on
    -- the endpoint's health.
    manual           BOOLEAN NOT NULL DEFAULT false,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    log              JSONB NOT NULL DEFAULT '[]',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_source, event_id),
    FOREIGN KEY (event_source, event_id) REFERENCES events (source, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_source, event_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_secrets;
DROP TABLE webhook_endpoints;

-- +goose Up
-- Acceptances made before this service heard of the partner's approval
-- (registration already says qualified): kept with the acceptor's evidence
-- and recorded — or refused — when the approval (or a rejection) arrives.
CREATE TABLE pending_acceptances (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'recorded', 'refused')),
    doc         JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX pending_acceptances_open ON pending_acceptances (partner_id, created_at) WHERE status = 'pending';
CREATE INDEX pending_acceptances_partner ON pending_acceptances (partner_id, created_at);

-- +goose Down
DROP TABLE pending_acceptances;

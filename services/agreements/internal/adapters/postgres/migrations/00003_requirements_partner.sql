-- +goose Up
-- A closed partner's open re-acceptance requirements are cancelled in the
-- closure's transaction (since round 45): found by partner.
CREATE INDEX requirements_partner ON requirements (partner_id) WHERE status = 'open';

-- +goose Down
DROP INDEX requirements_partner;

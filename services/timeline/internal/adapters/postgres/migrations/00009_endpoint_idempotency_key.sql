-- +goose Up
-- An endpoint created with an Idempotency-Key keeps it, with the digest of
-- the request that created it: a retry of that request by the same
-- principal finds the endpoint instead of creating a second one (each would
-- receive every event). The answer is rebuilt from the endpoint, not kept:
-- it holds the signing secret, which is stored sealed only.
ALTER TABLE webhook_endpoints
    ADD COLUMN idempotency_key TEXT,
    ADD COLUMN request_digest TEXT;
CREATE UNIQUE INDEX webhook_endpoints_idempotency_key ON webhook_endpoints (created_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX webhook_endpoints_idempotency_key;
ALTER TABLE webhook_endpoints DROP COLUMN idempotency_key, DROP COLUMN request_digest;

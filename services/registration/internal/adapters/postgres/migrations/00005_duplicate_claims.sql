-- +goose Up
-- A claimant reads its duplicate claim by claim id (GET /v1/duplicate-claims/{id}).
CREATE UNIQUE INDEX duplicate_attempts_claim ON duplicate_attempts ((data #>> '{claim,id}')) WHERE data ? 'claim';

-- +goose Down
DROP INDEX duplicate_attempts_claim;

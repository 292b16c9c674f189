-- +goose Up
-- A claimant reads its duplicate claim by claim id (GET /v1/duplicate-claims/{id}).
CREATE UNIQUE INDEX duplicate_attempts_claim ON duplicate_attempts ((data #>> '{claim,id}')) WHERE data ? 'claim';

-- Enrollments whose contact address a reviewer removed after an upheld
-- "this wasn't me" dispute (email.dispute.upheld.v1): the requirements
-- view says the enrollment needs another contact address while the
-- partner's contact address is still the removed one.
CREATE TABLE contact_removals (
    enrollment_id TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL,
    challenge_id  TEXT NOT NULL,
    address       TEXT NOT NULL,
    removed_at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE contact_removals;
DROP INDEX duplicate_attempts_claim;

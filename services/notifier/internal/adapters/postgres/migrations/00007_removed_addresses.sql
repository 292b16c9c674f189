-- +goose Up
-- The partner's addresses an upheld "this wasn't me" dispute removed
-- (email.dispute.upheld.v1): no mail of the partner goes to them.
ALTER TABLE contacts ADD COLUMN removed TEXT[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE contacts DROP COLUMN removed;

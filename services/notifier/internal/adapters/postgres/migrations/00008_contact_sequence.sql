-- +goose Up
-- The partner sequence of registration's event that gave the contact (0:
-- not known): a contact of an earlier event is not kept after a later one's.
ALTER TABLE contacts ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE contacts DROP COLUMN sequence;

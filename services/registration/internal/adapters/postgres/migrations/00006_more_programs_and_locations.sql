-- +goose Up
-- A partner may hold one enrollment per program per location (more
-- programs and locations after registration): the partner aggregate keeps
-- that rule under its row lock; the table only indexes.
ALTER TABLE enrollments DROP CONSTRAINT IF EXISTS enrollments_partner_id_program_key;
CREATE INDEX IF NOT EXISTS enrollments_partner_program ON enrollments (partner_id, program);

-- +goose Down
DROP INDEX IF EXISTS enrollments_partner_program;
ALTER TABLE enrollments ADD CONSTRAINT enrollments_partner_id_program_key UNIQUE (partner_id, program);

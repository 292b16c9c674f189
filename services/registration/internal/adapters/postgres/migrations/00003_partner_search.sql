-- +goose Up
-- The operators' partner search (GET /v1/partners): pages newest first by
-- (created_at, id); the filters that select few partners have an index
-- each. Name fragments are matched by a scan (ILIKE '%…%'): thousands of
-- partners take milliseconds, and pg_trgm would need a superuser.
CREATE INDEX partners_newest ON partners (created_at DESC, id DESC);
CREATE INDEX partners_updated ON partners (updated_at);
CREATE INDEX partners_registration_number
    ON partners ((snapshot #>> '{registration,normalized,company,registration_number,value}'));
CREATE INDEX enrollments_program ON enrollments (program, partner_id);

-- +goose Down
DROP INDEX enrollments_program;
DROP INDEX partners_registration_number;
DROP INDEX partners_updated;
DROP INDEX partners_newest;

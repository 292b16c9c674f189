-- +goose Up
-- An outbox row over about 2 KB (the largest events: a submitted
-- registration's whole profile, with its headers) was compressed with
-- pglz at its insert, for a row the relay deletes within milliseconds.
-- LZ4 (PostgreSQL 14 and later, where the server was built with it, as
-- Debian's and the official images are) compresses such a row several
-- times faster: pglz was 0.5 % of a loaded stack's CPU samples, LZ4 0.1 %
-- (README, "Performance and scaling", round 38). Rows already stored keep
-- their compression; new ones take LZ4.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE outbox ALTER COLUMN headers SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION default;
ALTER TABLE outbox ALTER COLUMN headers SET COMPRESSION default;

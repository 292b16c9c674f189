-- +goose Up
-- An event row over about 2 KB (the largest events' data with their
-- extensions) was compressed with pglz at its insert. LZ4 (PostgreSQL 14
-- and later, where the server was built with it) compresses it several
-- times faster (README, "Performance and scaling", round 38). Stored
-- events keep their compression.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
        ALTER TABLE events ALTER COLUMN extensions SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE events ALTER COLUMN data SET COMPRESSION default;
ALTER TABLE events ALTER COLUMN extensions SET COMPRESSION default;

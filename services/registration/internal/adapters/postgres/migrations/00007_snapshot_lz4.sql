-- +goose Up
-- A partner's snapshot (about 3 KB of JSON, over the 2 KB at which a
-- row is compressed) was compressed with pglz at each of the four updates
-- of an onboarding. LZ4 (PostgreSQL 14 and later, where the server was
-- built with it) compresses it several times faster (README, "Performance
-- and scaling", round 38; verification's case documents since round 13).
-- Stored snapshots take LZ4 at their partner's next update.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE partners ALTER COLUMN snapshot SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE partners ALTER COLUMN snapshot SET COMPRESSION default;

-- +goose Up
-- A review task's document (about 1.7 KB of JSON with its row's other
-- columns over the 2 KB at which a row is compressed) was compressed with
-- pglz at its insert and updates. LZ4 (PostgreSQL 14 and later, where the
-- server was built with it) compresses it several times faster (README,
-- "Performance and scaling", round 38).
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE review_tasks ALTER COLUMN task SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE review_tasks ALTER COLUMN task SET COMPRESSION default;

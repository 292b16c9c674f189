-- +goose Up
-- The case document is only ever stored and read whole: nothing queries
-- inside it. As JSONB, Postgres parsed each write into its binary form and
-- printed it back to text on each read, and pglz compressed it (a case is
-- about 4 KB of JSON, over the 2 KB at which a row is compressed) at each
-- of the four updates of an onboarding. As JSON (the text, checked for
-- well-formedness only) compressed with LZ4, an update took about a third
-- less of Postgres' CPU and a read about a quarter less (README,
-- "Performance and scaling", round 13). The text the service wrote is
-- what it reads back. The type change rewrites the table (under an
-- exclusive lock) with the existing documents compressed as before; each
-- takes LZ4 at its case's next update.
ALTER TABLE cases ALTER COLUMN doc TYPE JSON USING doc::json;

-- LZ4 where the server was built with it (PostgreSQL 14 and later, as
-- Debian's and the official images are); pglz otherwise.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE cases ALTER COLUMN doc SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE cases ALTER COLUMN doc SET COMPRESSION default;
ALTER TABLE cases ALTER COLUMN doc TYPE JSONB USING doc::jsonb;

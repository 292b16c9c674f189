-- +goose Up
-- compress_with_lz4 sets columns of a table in this schema to compress with
-- LZ4 where the server was built with it (PostgreSQL 14 and later, as
-- Debian's and the official images are), and leaves pglz otherwise; the
-- services' migrations call it for their large columns. LZ4 compresses a
-- row over about 2 KB several times faster than pglz: on a loaded stack
-- pglz was 0.47 % of the CPU samples, LZ4 0.13 % (README, "Performance and
-- scaling", round 38). Values already stored keep their compression until
-- they are written again.
-- +goose StatementBegin
CREATE FUNCTION compress_with_lz4(tbl regclass, VARIADIC cols name[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    col name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        RETURN;
    END IF;
    FOREACH col IN ARRAY cols LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION lz4', tbl, col);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- An outbox row over about 2 KB (the largest events: a submitted
-- registration's whole profile, with its headers) was compressed with pglz
-- at its insert, for a row the relay deletes within milliseconds.
SELECT compress_with_lz4('outbox', 'payload', 'headers');

-- +goose Down
ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION default;
ALTER TABLE outbox ALTER COLUMN headers SET COMPRESSION default;
DROP FUNCTION compress_with_lz4(regclass, name[]);

-- +goose Up
-- An event row over about 2 KB (the largest events' data with their
-- extensions) was compressed with pglz at its insert; LZ4 where the server
-- has it (the platform's compress_with_lz4).
SELECT compress_with_lz4('events', 'data', 'extensions');

-- +goose Down
ALTER TABLE events ALTER COLUMN data SET COMPRESSION default;
ALTER TABLE events ALTER COLUMN extensions SET COMPRESSION default;

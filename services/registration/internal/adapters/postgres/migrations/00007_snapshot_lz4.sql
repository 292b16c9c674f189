-- +goose Up
-- A partner's snapshot (about 3 KB of JSON, over the 2 KB at which a row is
-- compressed) was compressed with pglz at each of the four updates of an
-- onboarding; LZ4 where the server has it (the platform's compress_with_lz4).
SELECT compress_with_lz4('partners', 'snapshot');

-- +goose Down
ALTER TABLE partners ALTER COLUMN snapshot SET COMPRESSION default;

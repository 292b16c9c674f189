-- +goose Up
-- A review task's row (its document about 1.7 KB of JSON) passes the 2 KB at
-- which a row is compressed, with pglz at its insert and updates; LZ4 where
-- the server has it (the platform's compress_with_lz4).
SELECT compress_with_lz4('review_tasks', 'task');

-- +goose Down
ALTER TABLE review_tasks ALTER COLUMN task SET COMPRESSION default;

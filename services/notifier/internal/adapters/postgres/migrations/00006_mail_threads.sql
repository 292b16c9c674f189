-- +goose Up
-- A mail of a thread (news about a partner's standing, one side of a
-- grant) waits for its state to settle; a newer one of the same thread
-- takes the place of one still waiting. thread_seq is the trigger's
-- sequence on its partition: the order the thread's news happened in.
ALTER TABLE deliveries ADD COLUMN thread TEXT NOT NULL DEFAULT '', ADD COLUMN thread_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deliveries_by_thread ON deliveries (partner_id, thread, thread_seq) WHERE thread <> '';

-- +goose Down
DROP INDEX deliveries_by_thread;
ALTER TABLE deliveries DROP COLUMN thread_seq, DROP COLUMN thread;

-- +goose Up
-- A mail of a thread (news about a partner's standing, one side of a
-- grant) waits for its state to settle; a newer one of the same thread
-- takes the place of one still waiting.
ALTER TABLE deliveries ADD COLUMN thread TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_waiting_on_thread ON deliveries (partner_id, thread) WHERE status = 'pending' AND thread <> '';

-- +goose Down
DROP INDEX deliveries_waiting_on_thread;
ALTER TABLE deliveries DROP COLUMN thread;

-- +goose Up
-- The cause a delivery's events carry: they are written later, by the
-- delivery loop, not while the request event is handled.
ALTER TABLE deliveries
    ADD COLUMN correlation_id TEXT NOT NULL DEFAULT '',
    ADD COLUMN trace_parent   TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN correlation_id, DROP COLUMN trace_parent;

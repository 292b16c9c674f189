-- +goose Up
-- The trace each partition's story began in at this producer (the
-- traceparent of its first event, or of the event a consumer recorded with
-- outbox.RecordOrigin): a later action on the same partner links its span
-- to it, so one onboarding is traceable across the requests that continue
-- it. Partitions from before this column have none and get no link.
ALTER TABLE event_sequence ADD COLUMN origin_traceparent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE event_sequence DROP COLUMN origin_traceparent;

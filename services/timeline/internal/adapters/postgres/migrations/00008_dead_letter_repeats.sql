-- +goose Up
-- A dead letter replayed by an operator and refused again by the same
-- handler is another dead letter of the same event: its row keeps where it
-- first appeared on the timeline (time) and counts the repeats (times), with
-- the last one's time (last_at) and its code, reason and deliveries. A
-- redelivery of one dead letter (the same dlq-time) changes nothing.
ALTER TABLE dead_letters
    ADD COLUMN times INTEGER NOT NULL DEFAULT 1 CHECK (times >= 1),
    ADD COLUMN last_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE dead_letters DROP COLUMN times, DROP COLUMN last_at;

-- +goose Up
-- A redelivery asked for by hand is one attempt beside the retry schedule:
-- it neither uses up a retry nor moves the next one, so an integrator
-- pressing "redeliver" while fixing a receiver cannot run the schedule out
-- (and get the endpoint disabled as persistently failing) in seconds.
-- scheduled_attempts counts the schedule's attempts (attempts counts them
-- all); resume_at keeps a pending delivery's next scheduled attempt while
-- one by hand is made.
ALTER TABLE webhook_deliveries
    ADD COLUMN scheduled_attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN resume_at TIMESTAMPTZ;
UPDATE webhook_deliveries SET scheduled_attempts = attempts WHERE attempts > 0;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN resume_at, DROP COLUMN scheduled_attempts;

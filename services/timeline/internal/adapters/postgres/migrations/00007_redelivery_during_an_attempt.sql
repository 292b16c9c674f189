-- +goose Up
-- How many redeliveries were asked for by hand. An attempt's outcome is
-- recorded against the count it was loaded with: a redelivery asked for
-- while an attempt was in flight (the count moved) is kept pending and made
-- next, instead of being overwritten by that attempt's outcome.
ALTER TABLE webhook_deliveries ADD COLUMN redeliveries INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN redeliveries;

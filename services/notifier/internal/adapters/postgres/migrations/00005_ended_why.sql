-- +goose Up
-- Why a mail's challenge ended while an attempt was in flight: that
-- attempt's sender records its outcome from the copy it holds, so the
-- failure that follows names this cause rather than "expired".
ALTER TABLE deliveries ADD COLUMN ended_why TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN ended_why;

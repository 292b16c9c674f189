-- +goose Up
-- The content digest of an event (type and data) for subscriptions whose
-- publishers are outside (intake): an event whose id was processed before
-- with another digest is a reused id, answered rather than dropped as a
-- redelivery (inbox.Reused); the answer's own row is keyed handler#digest.
-- NULL for every other subscription, and for rows written before.
ALTER TABLE inbox ADD COLUMN digest BYTEA;

-- +goose Down
DELETE FROM inbox WHERE handler LIKE '%#%';
ALTER TABLE inbox DROP COLUMN digest;

-- +goose Up
-- The event feed (GET /v1/events): every event in the order the timeline
-- recorded it. tx is the recording transaction's id and pos the order
-- of insertion: the feed serves (tx, pos) in order, and only the rows
-- of transactions older than every transaction still running
-- (pg_snapshot_xmin), so that one committing late can never slip in behind
-- a reader's cursor.
ALTER TABLE events
    ADD COLUMN tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    ADD COLUMN pos BIGINT GENERATED ALWAYS AS IDENTITY,
    -- The rest of the CloudEvent, so that the feed and webhooks hand on the
    -- event as its producer wrote it.
    ADD COLUMN datacontenttype TEXT NOT NULL DEFAULT '',
    ADD COLUMN dataschema TEXT NOT NULL DEFAULT '',
    ADD COLUMN traceparent TEXT NOT NULL DEFAULT '',
    ADD COLUMN dataclassification TEXT NOT NULL DEFAULT '',
    ADD COLUMN extensions JSONB;
CREATE UNIQUE INDEX events_feed ON events (tx, pos);
-- Retention deletes by arrival.
CREATE INDEX events_recorded ON events (recorded_at);

-- A partner's events in feed order (its own feed, the partner filter).
ALTER TABLE partner_events ADD COLUMN tx BIGINT, ADD COLUMN pos BIGINT;
UPDATE partner_events x SET tx = e.tx, pos = e.pos FROM events e WHERE e.source = x.source AND e.id = x.event_id;
ALTER TABLE partner_events ALTER COLUMN tx SET NOT NULL, ALTER COLUMN pos SET NOT NULL;
CREATE INDEX partner_events_feed ON partner_events (partner_id, tx, pos);

-- Who registered each partner (registration.application.submitted's
-- submitted_by): an upstream system's feed is the events about the
-- partners it registered, and the events it caused.
CREATE TABLE partner_registrants (
    partner_id TEXT PRIMARY KEY,
    principal  TEXT NOT NULL
);
CREATE INDEX partner_registrants_principal ON partner_registrants (principal);
INSERT INTO partner_registrants (partner_id, principal)
SELECT subject, COALESCE(NULLIF(data ->> 'submitted_by', ''), authid) FROM events
WHERE type = 'com.partnerhub.registration.application.submitted.v1' AND subject LIKE 'PG-%'
ON CONFLICT DO NOTHING;

-- Retention: the highest sequence deleted per producer and partition, so
-- that deleted events are not reported as gaps.
CREATE TABLE pruned (
    source        TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    through       BIGINT NOT NULL,
    PRIMARY KEY (source, partition_key)
);
CREATE INDEX dead_letters_recorded ON dead_letters (recorded_at);

-- +goose Down
DROP INDEX dead_letters_recorded;
DROP TABLE pruned;
DROP TABLE partner_registrants;
DROP INDEX partner_events_feed;
ALTER TABLE partner_events DROP COLUMN pos, DROP COLUMN tx;
DROP INDEX events_recorded;
DROP INDEX events_feed;
ALTER TABLE events DROP COLUMN extensions, DROP COLUMN dataclassification, DROP COLUMN traceparent,
    DROP COLUMN dataschema, DROP COLUMN datacontenttype, DROP COLUMN pos, DROP COLUMN tx;

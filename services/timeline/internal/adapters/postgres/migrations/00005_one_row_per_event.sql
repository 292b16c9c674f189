-- +goose Up
-- One row per event serves the timelines, the feed and webhooks alike:
-- partner_events, which copied every event once per partner it concerns
-- (a second insert, index and foreign-key check per event), is folded into
-- events. An event keeps the partners it concerns (sorted, as recorded);
-- its first partner's timeline is read from events' own indexes, and the
-- rare further partners (both sides of a relationship, the existing partner
-- of a duplicate claim) have a row each in other_partner_events.
ALTER TABLE events ADD COLUMN partners TEXT[] NOT NULL DEFAULT '{}';
UPDATE events e SET partners = x.partners
FROM (SELECT source, event_id, array_agg(partner_id ORDER BY partner_id COLLATE "C") AS partners
    FROM partner_events GROUP BY source, event_id) x
WHERE e.source = x.source AND e.id = x.event_id;
ALTER TABLE events ADD COLUMN partner_id TEXT GENERATED ALWAYS AS (partners[1]) STORED;
-- A partner's timeline (time, ties by source, then sequence, then id) and
-- its feed (tx, pos), each one index range scan.
CREATE INDEX events_timeline ON events (partner_id, time, source, sequence, id) WHERE partner_id IS NOT NULL;
CREATE INDEX events_partner_feed ON events (partner_id, tx, pos) WHERE partner_id IS NOT NULL;

-- The second and further partners of an event, with the ordering columns
-- copied (as partner_events had them).
CREATE TABLE other_partner_events (
    source     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    sequence   BIGINT NOT NULL,
    type       TEXT NOT NULL,
    tx         BIGINT NOT NULL,
    pos        BIGINT NOT NULL,
    PRIMARY KEY (source, event_id, partner_id),
    FOREIGN KEY (source, event_id) REFERENCES events (source, id)
);
CREATE INDEX other_partner_events_timeline ON other_partner_events (partner_id, time, source, sequence, event_id);
CREATE INDEX other_partner_events_feed ON other_partner_events (partner_id, tx, pos);
INSERT INTO other_partner_events (source, event_id, partner_id, time, sequence, type, tx, pos)
SELECT x.source, x.event_id, x.partner_id, x.time, x.sequence, x.type, x.tx, x.pos
FROM partner_events x JOIN events e ON e.source = x.source AND e.id = x.event_id
WHERE x.partner_id <> e.partner_id;

DROP TABLE partner_events;

-- +goose Down
CREATE TABLE partner_events (
    partner_id TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    source     TEXT NOT NULL,
    sequence   BIGINT NOT NULL,
    event_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    tx         BIGINT NOT NULL,
    pos        BIGINT NOT NULL,
    PRIMARY KEY (partner_id, source, event_id),
    FOREIGN KEY (source, event_id) REFERENCES events (source, id)
);
INSERT INTO partner_events (partner_id, time, source, sequence, event_id, type, tx, pos)
SELECT p, e.time, e.source, e.sequence, e.id, e.type, e.tx, e.pos FROM events e, unnest(e.partners) AS p;
CREATE INDEX partner_events_order ON partner_events (partner_id, time, source, sequence, event_id);
CREATE INDEX partner_events_feed ON partner_events (partner_id, tx, pos);
DROP TABLE other_partner_events;
ALTER TABLE events DROP COLUMN partner_id, DROP COLUMN partners;
